"""The sync's models, adopted from projects (projects.0009) with their tables as they were.

State only: the tables exist already (projects.0001 and 0006 made them); sync.0002 renames them.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ('projects', '0008_creatives_full_at'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='SyncLease',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('key', models.CharField(max_length=128, unique=True)),
                        ('holder', models.CharField(max_length=255)),
                        ('expires_at', models.DateTimeField()),
                    ],
                    options={
                        'db_table': 'projects_synclease',
                        'ordering': ['key'],
                    },
                ),
                migrations.CreateModel(
                    name='SyncRun',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('started_at', models.DateTimeField(db_index=True)),
                        ('finished_at', models.DateTimeField(blank=True, null=True)),
                        ('heartbeat_at', models.DateTimeField(blank=True, null=True)),
                        ('status', models.CharField(choices=[('running', 'Running'), ('succeeded', 'Succeeded'), ('partial', 'finished with errors'), ('failed', 'Failed'), ('abandoned', 'abandoned (process died)')], default='running', max_length=16)),
                        ('trigger', models.CharField(default='command', help_text='command, admin, task, demo', max_length=32)),
                        ('full', models.BooleanField(default=False)),
                        ('projects_listed_at', models.DateTimeField(blank=True, help_text='When this run finished walking the projects list.', null=True)),
                        ('project_ids', models.JSONField(blank=True, default=list, help_text='Empty = every project.')),
                        ('host', models.CharField(blank=True, default='', max_length=255)),
                        ('pid', models.IntegerField(blank=True, null=True)),
                        ('counts', models.JSONField(blank=True, default=dict, help_text='Per type: created, updated, unchanged, gone.')),
                        ('projects_synced', models.IntegerField(default=0)),
                        ('projects_skipped', models.IntegerField(default=0, help_text='Locked by another run.')),
                        ('api_calls', models.IntegerField(default=0)),
                        ('retries', models.IntegerField(default=0)),
                        ('throttled', models.IntegerField(default=0, verbose_name='429s')),
                        ('error_count', models.IntegerField(default=0)),
                        ('errors', models.JSONField(blank=True, default=list)),
                        ('triggered_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='sync_runs', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'projects_syncrun',
                        'ordering': ['-started_at', '-id'],
                        'get_latest_by': 'started_at',
                    },
                ),
                migrations.CreateModel(
                    name='TaskRecord',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('task_id', models.CharField(help_text="The task backend's id.", max_length=64, unique=True)),
                        ('kind', models.CharField(choices=[('sync', 'sync projects'), ('project_refetch', 're-fetch project'), ('container_refetch', 're-fetch container')], max_length=32)),
                        ('project_ids', models.JSONField(blank=True, default=list, help_text='Layers ids it works on.')),
                        ('created_at', models.DateTimeField(auto_now_add=True, db_index=True)),
                        ('status', models.CharField(blank=True, default='', help_text='Last seen: queued, running, done, failed.', max_length=16)),
                        ('result', models.JSONField(blank=True, help_text="The task's summary when done.", null=True)),
                        ('finished_at', models.DateTimeField(blank=True, null=True)),
                        ('user', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='task_records', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'projects_taskrecord',
                        'ordering': ['-created_at', '-id'],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
