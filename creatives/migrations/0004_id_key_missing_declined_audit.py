# Ids compared in normal form (layersadmin.layers.ids.id_key); rows missed by one walk are not
# gone yet; declined leaderboards; the override audit's form token and customer check.

from django.db import migrations, models

from layersadmin.layers.ids import id_key


def fill_keys(apps, schema_editor):
    for name in ("ContentContainer", "AdsContent"):
        model = apps.get_model("creatives", name)
        batch = []
        for row in model.objects.only("pk", "layers_id").iterator(chunk_size=2000):
            row.key = id_key(row.layers_id)
            batch.append(row)
            if len(batch) >= 2000:
                model.objects.bulk_update(batch, ["key"], batch_size=500)
                batch = []
        if batch:
            model.objects.bulk_update(batch, ["key"], batch_size=500)


KEY = dict(
    default='',
    help_text='The id in normal form (layersadmin.layers.ids.id_key): what joins compare.',
    max_length=64,
    verbose_name='id key',
)
LAYERS_ID = dict(
    help_text="The id as the API's list returned it: the form every call uses.",
    max_length=64,
    verbose_name='Layers id',
)


class Migration(migrations.Migration):

    dependencies = [
        ('creatives', '0003_score_sample_index'),
        ('projects', '0004_id_key_and_missing'),
    ]

    operations = [
        *[
            op
            for model in ('contentcontainer', 'adscontent')
            for op in (
                migrations.AddField(
                    model_name=model,
                    name='key',
                    field=models.CharField(**KEY),
                    preserve_default=False,
                ),
                migrations.AddField(
                    model_name=model,
                    name='missing_since',
                    field=models.DateTimeField(blank=True, help_text='First complete walk that did not return this row.', null=True),
                ),
                migrations.AddField(
                    model_name=model,
                    name='missed_walks',
                    field=models.PositiveSmallIntegerField(default=0, help_text='Consecutive complete walks that did not return this row.'),
                ),
                migrations.AlterField(
                    model_name=model,
                    name='layers_id',
                    field=models.CharField(**LAYERS_ID),
                ),
            )
        ],
        migrations.RunPython(fill_keys, migrations.RunPython.noop),
        migrations.RemoveConstraint(
            model_name='contentcontainer',
            name='container_unique_layers_id',
        ),
        migrations.AddConstraint(
            model_name='contentcontainer',
            constraint=models.UniqueConstraint(fields=('key',), name='container_unique_key'),
        ),
        migrations.RemoveConstraint(
            model_name='adscontent',
            name='adscontent_unique_per_project',
        ),
        migrations.AddConstraint(
            model_name='adscontent',
            constraint=models.UniqueConstraint(fields=('project', 'key'), name='adscontent_unique_key'),
        ),
        migrations.AddField(
            model_name='leaderboardsnapshot',
            name='declined',
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name='leaderboardsnapshot',
            name='declined_message',
            field=models.TextField(blank=True, default='', help_text='The API\'s message when it declined this board.'),
        ),
        migrations.AddField(
            model_name='overrideaudit',
            name='form_token',
            field=models.CharField(blank=True, default='', help_text='The submitted form this entry came from; with the same body, its key is reused.', max_length=64),
        ),
        migrations.AddField(
            model_name='overrideaudit',
            name='customer_check',
            field=models.CharField(blank=True, choices=[('confirmed', 'confirmed upstream'), ('unconfirmed', 'unconfirmed (no customer id on either side)')], default='', help_text='Whether the project\'s customer was confirmed upstream before the write.', max_length=16),
        ),
    ]
