"""The sync's models moved from ``projects`` to ``sync`` without losing rows or access."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse
from django.utils import timezone

from sync.models import SyncRun, TaskRecord

BEFORE = [("projects", "0008_creatives_full_at")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_rows_history_and_grants_survive_the_move():
    old = migrate(BEFORE)
    OldRun = old.get_model("projects", "SyncRun")
    OldTask = old.get_model("projects", "TaskRecord")
    OldGroup = old.get_model("auth", "Group")
    OldPermission = old.get_model("auth", "Permission")
    run = OldRun.objects.create(started_at=timezone.now(), status="succeeded", api_calls=7)
    OldTask.objects.create(task_id="t-1", kind="sync", project_ids=["prj_1"])
    auditors = OldGroup.objects.create(name="Auditors")
    view_runs = OldPermission.objects.get(
        content_type__app_label="projects", codename="view_syncrun"
    )
    auditors.permissions.add(view_runs)

    executor = MigrationExecutor(connection)
    migrate(executor.loader.graph.leaf_nodes())

    moved = SyncRun.objects.get(pk=run.pk)
    assert (moved.status, moved.api_calls) == ("succeeded", 7)
    assert TaskRecord.objects.get(task_id="t-1").project_ids == ["prj_1"]
    grants = Group.objects.get(name="Auditors").permissions.all()
    assert [(p.pk, p.content_type.app_label, p.codename) for p in grants] == [
        (view_runs.pk, "sync", "view_syncrun")
    ]


@pytest.mark.django_db
def test_old_admin_addresses_redirect_with_their_filters(admin_client):
    run = SyncRun.objects.create(started_at=timezone.now())
    answer = admin_client.get(f"/admin/projects/syncrun/{run.pk}/change/")
    assert answer.status_code == 301
    assert answer["Location"] == reverse("admin:sync_syncrun_change", args=[run.pk])
    answer = admin_client.get("/admin/projects/taskrecord/?status=failed")
    assert answer["Location"] == reverse("admin:sync_taskrecord_changelist") + "?status=failed"
    assert admin_client.get("/admin/projects/project/").status_code == 200
