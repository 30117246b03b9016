"""The sync's tables get its name, and its content types move with them.

Relabelling the content types (rather than letting new ones be created) keeps their ids, so the
permissions that point at them, the groups' grants (Support: view sync runs, leases and tasks)
and admin history all carry over.
"""

from django.db import migrations

MODELS = ("syncrun", "synclease", "taskrecord")


def relabel(apps, from_label, to_label):
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in MODELS:
        old = ContentType.objects.filter(app_label=from_label, model=model).first()
        if old is None:  # a fresh database: post_migrate creates it under the new label
            continue
        # One under the new label can exist only if post_migrate ran between the two
        # migrations; it holds no grants yet (they point at the old one), so it gives way.
        ContentType.objects.filter(app_label=to_label, model=model).delete()
        old.app_label = to_label
        old.save(update_fields=["app_label"])


def forwards(apps, schema_editor):
    relabel(apps, "projects", "sync")


def backwards(apps, schema_editor):
    relabel(apps, "sync", "projects")


class Migration(migrations.Migration):
    dependencies = [
        ("sync", "0001_initial"),
        ("projects", "0009_sync_models_moved"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.AlterModelTable(name="synclease", table=None),
        migrations.AlterModelTable(name="syncrun", table=None),
        migrations.AlterModelTable(name="taskrecord", table=None),
        migrations.RunPython(forwards, backwards),
    ]
