# Ids compared in normal form (layersadmin.layers.ids.id_key); rows missed by one walk are
# not gone yet (missing_since, missed_walks).

from django.db import migrations, models

from layersadmin.layers.ids import id_key


def fill_keys(apps, schema_editor):
    Project = apps.get_model("projects", "Project")
    rows = list(Project.objects.only("pk", "layers_id"))
    for row in rows:
        row.key = id_key(row.layers_id)
    Project.objects.bulk_update(rows, ["key"], batch_size=500)


class Migration(migrations.Migration):

    dependencies = [
        ('projects', '0003_project_list_counts'),
    ]

    operations = [
        migrations.AddField(
            model_name='project',
            name='key',
            field=models.CharField(default='', help_text='The id in normal form (layersadmin.layers.ids.id_key): what joins compare.', max_length=64, verbose_name='id key'),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name='project',
            name='missing_since',
            field=models.DateTimeField(blank=True, help_text='First complete walk that did not return this row.', null=True),
        ),
        migrations.AddField(
            model_name='project',
            name='missed_walks',
            field=models.PositiveSmallIntegerField(default=0, help_text='Consecutive complete walks that did not return this row.'),
        ),
        migrations.AlterField(
            model_name='project',
            name='layers_id',
            field=models.CharField(help_text="The id as the API's list returned it: the form every call uses.", max_length=64, verbose_name='Layers id'),
        ),
        migrations.RunPython(fill_keys, migrations.RunPython.noop),
        migrations.RemoveConstraint(
            model_name='project',
            name='project_unique_layers_id',
        ),
        migrations.AddConstraint(
            model_name='project',
            constraint=models.UniqueConstraint(fields=('key',), name='project_unique_key'),
        ),
    ]
