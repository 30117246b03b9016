"""SyncRun, SyncLease and TaskRecord moved to the sync app (sync.0001, sync.0002).

State only: the tables stay; sync.0001 adopts them and sync.0002 renames them.
"""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('projects', '0008_creatives_full_at'),
        ('sync', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(
                    name='SyncLease',
                ),
                migrations.RemoveField(
                    model_name='taskrecord',
                    name='user',
                ),
                migrations.DeleteModel(
                    name='SyncRun',
                ),
                migrations.DeleteModel(
                    name='TaskRecord',
                ),
            ],
            database_operations=[],
        ),
    ]
