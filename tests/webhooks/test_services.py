"""The pending work: a burst becomes one re-fetch and one task; the task claims it, re-fetches
against the sandbox, marks the events and finishes; an event that arrives while it runs is not
lost; failures, lost tasks and retention."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from creatives.models import ContentContainer
from layersadmin.layers.errors import LayersAPIError
from layersadmin.layers.ids import id_key
from projects.models import Project
from sync.models import SyncRun, TaskRecord
from tests.webhooks.conftest import deliver, event
from webhooks import services
from webhooks.models import PendingRefetch, WebhookEvent
from webhooks.services import pending_refetch_run, webhook_events_trim

pytestmark = pytest.mark.django_db

IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture
def container(synced) -> ContentContainer:
    return ContentContainer.objects.select_related("project").order_by("layers_id").first()


def about(container: ContentContainer, event_id: str, kind: str = "content.approved") -> dict:
    return event(
        kind,
        event_id=event_id,
        data={"id": container.layers_id, "projectId": container.project.layers_id},
    )


def test_a_burst_for_one_container_becomes_one_refetch_and_one_task(client, secret, container):
    for i in range(20):
        assert deliver(client, about(container, f"evt_B{i:02d}")).status_code == 200
    assert WebhookEvent.objects.filter(status="received").count() == 20
    pending = PendingRefetch.objects.get()
    assert (pending.kind, pending.target_key, pending.state) == (
        "container",
        container.key,
        "pending",
    )
    assert DBTaskResult.objects.count() == 1 and TaskRecord.objects.count() == 1

    ContentContainer.objects.filter(pk=container.pk).update(caption="stale", approval_status="x")
    calls_before = SyncRun.objects.count()
    outcome = pending_refetch_run(kind="container", target_key=container.key, task_id="t1")
    assert outcome["status"] == "stored" and outcome["events"] == 20
    fresh = ContentContainer.objects.get(pk=container.pk)
    assert fresh.caption == container.caption and fresh.approval_status != "x"
    assert SyncRun.objects.count() == calls_before  # one GET, no sync run
    assert not PendingRefetch.objects.exists()
    assert set(WebhookEvent.objects.values_list("status", "task_id")) == {("processed", "t1")}
    # A second task for the same target (a spare one) finds nothing to do.
    again = pending_refetch_run(kind="container", target_key=container.key)
    assert again["status"] == "nothing to do"


def test_an_event_arriving_while_the_task_runs_is_not_lost(client, secret, container, monkeypatch):
    assert deliver(client, about(container, "evt_BEFORE")).status_code == 200
    real = services.container_refetch

    def refetch_while_an_event_arrives(**kwargs):
        # The task has claimed the row: this delivery must not enqueue a second task now,
        # and must not be forgotten either.
        assert deliver(client, about(container, "evt_DURING")).status_code == 200
        assert DBTaskResult.objects.count() == 1
        return real(**kwargs)

    monkeypatch.setattr(services, "container_refetch", refetch_while_an_event_arrives)
    pending_refetch_run(kind="container", target_key=container.key)
    statuses = dict(WebhookEvent.objects.values_list("event_id", "status"))
    assert statuses == {"evt_BEFORE": "processed", "evt_DURING": "received"}
    row = PendingRefetch.objects.get()
    assert (row.state, row.dirty) == ("pending", False)
    assert DBTaskResult.objects.count() == 2  # queued again for what arrived meanwhile

    monkeypatch.setattr(services, "container_refetch", real)
    pending_refetch_run(kind="container", target_key=container.key)
    assert set(WebhookEvent.objects.values_list("status", flat=True)) == {"processed"}
    assert not PendingRefetch.objects.exists()


def test_a_failed_refetch_marks_its_events_failed_and_a_replay_tries_again(
    client, secret, container, monkeypatch
):
    assert deliver(client, about(container, "evt_F")).status_code == 200

    def broken(**kwargs):
        raise LayersAPIError(status=500, code="INTERNAL", message="Internal error <b>x</b>")

    monkeypatch.setattr(services, "container_refetch", broken)
    with pytest.raises(LayersAPIError):
        pending_refetch_run(kind="container", target_key=container.key, task_id="t-failed")
    failed = WebhookEvent.objects.get()
    assert failed.status == "failed" and failed.task_id == "t-failed"
    assert "LayersAPIError" in failed.error
    assert not PendingRefetch.objects.exists()  # the next event (or a replay) may try again

    monkeypatch.undo()
    assert deliver(client, about(container, "evt_F")).status_code == 200  # Layers' replay
    assert PendingRefetch.objects.count() == 1 and DBTaskResult.objects.count() == 2
    pending_refetch_run(kind="container", target_key=container.key)
    assert WebhookEvent.objects.get().status == "processed"


def test_a_project_event_syncs_that_project(client, secret, synced, settings):
    settings.TASKS = IMMEDIATE
    project = Project.objects.order_by("layers_id").first()
    Project.objects.filter(pk=project.pk).update(name="stale name")
    payload = event(
        "job.completed", event_id="evt_J", data={"id": "job_1", "projectId": project.layers_id}
    )
    assert deliver(client, payload).status_code == 200
    project.refresh_from_db()
    assert project.name != "stale name"
    run = SyncRun.objects.order_by("-id").first()
    assert (run.trigger, run.project_ids, run.status) == (
        "webhook",
        [project.layers_id],
        "succeeded",
    )
    assert WebhookEvent.objects.get().status == "processed"
    record = TaskRecord.objects.get()
    assert (record.kind, record.status) == ("project_refetch", "done")
    assert record.result["status"] == "succeeded"


def test_a_container_of_a_project_not_mirrored_yet_brings_the_project(
    client, secret, synced, settings
):
    """No project id in the payload, and the container's project is not stored: GET
    /content/{id} names the project, which is then synced (its content with it)."""
    settings.TASKS = IMMEDIATE
    container = ContentContainer.objects.select_related("project").order_by("layers_id").first()
    project_id, container_id = container.project.layers_id, container.layers_id
    Project.objects.filter(pk=container.project.pk).delete()
    payload = event("content.generated", event_id="evt_N", data={"contentId": container_id[4:]})
    assert deliver(client, payload).status_code == 200
    assert Project.objects.filter(key=id_key(project_id)).exists()
    assert ContentContainer.objects.filter(key=id_key(container_id)).exists()
    assert WebhookEvent.objects.get().status == "processed"


def test_with_the_immediate_backend_the_container_is_stored_at_once(
    client, secret, container, settings
):
    settings.TASKS = IMMEDIATE
    ContentContainer.objects.filter(pk=container.pk).delete()
    assert deliver(client, about(container, "evt_I", "content.generated")).status_code == 200
    stored = ContentContainer.objects.get(key=container.key)
    assert stored.project_id == container.project_id
    assert WebhookEvent.objects.get().status == "processed"
    assert not PendingRefetch.objects.exists()
    assert TaskRecord.objects.get().status == "done"


def test_a_container_the_api_no_longer_has_is_marked_gone(client, secret, container, settings):
    settings.TASKS = IMMEDIATE
    ghost = "cnt_00000000-0000-4000-8000-00000000dead"
    ContentContainer.objects.filter(pk=container.pk).update(layers_id=ghost, key=id_key(ghost))
    payload = event("content.rejected", event_id="evt_G", data={"id": ghost})
    assert deliver(client, payload).status_code == 200
    assert ContentContainer.objects.get(pk=container.pk).is_gone
    assert WebhookEvent.objects.get().status == "processed"


@pytest.mark.parametrize(
    "state, age_field, age",
    [
        ("pending", "enqueued_at", timedelta(minutes=11)),  # its task was lost
        ("running", "claimed_at", timedelta(minutes=61)),  # its worker died
    ],
)
def test_stale_pending_work_is_queued_again(client, secret, container, state, age_field, age):
    PendingRefetch.objects.create(
        kind="container",
        target_key=container.key,
        target_id=container.layers_id,
        state=state,
        enqueued_at=timezone.now() - age,
        claimed_at=timezone.now() - age if state == "running" else None,
        claim_token="dead" if state == "running" else "",
    )
    assert deliver(client, about(container, "evt_S")).status_code == 200
    row = PendingRefetch.objects.get()
    assert row.state == "pending" and row.enqueued_at > timezone.now() - timedelta(minutes=1)
    assert DBTaskResult.objects.count() == 1
    pending_refetch_run(kind="container", target_key=container.key)
    assert WebhookEvent.objects.get().status == "processed"


def test_fresh_pending_work_is_joined_not_queued_again(client, secret, container):
    PendingRefetch.objects.create(
        kind="container",
        target_key=container.key,
        target_id=container.layers_id,
        state="running",
        enqueued_at=timezone.now(),
        claimed_at=timezone.now(),
    )
    assert deliver(client, about(container, "evt_J")).status_code == 200
    assert PendingRefetch.objects.get().dirty and not DBTaskResult.objects.exists()


def test_events_are_kept_seven_days_then_trimmed(secret):
    now = timezone.now()
    for name, days in (("evt_old", 8), ("evt_week", 6.9), ("evt_new", 0)):
        WebhookEvent.objects.create(event_id=name, last_received_at=now - timedelta(days=days))
    assert webhook_events_trim(days=1) == 1  # never fewer than 7 days
    assert set(WebhookEvent.objects.values_list("event_id", flat=True)) == {"evt_week", "evt_new"}

    out = StringIO()
    WebhookEvent.objects.filter(event_id="evt_week").update(
        last_received_at=now - timedelta(days=7, minutes=1)
    )
    call_command("webhooks_trim", stdout=out)
    assert "Deleted 1 webhook event(s) older than 7 days" in out.getvalue()
    with pytest.raises(CommandError, match="at least 7 days"):
        call_command("webhooks_trim", "--days", "3")
    call_command("webhooks_trim", "--days", "30", stdout=StringIO())
    assert WebhookEvent.objects.filter(event_id="evt_new").exists()


def test_the_trim_command_queues_lost_work_again(secret):
    PendingRefetch.objects.create(
        kind="project",
        target_key="abc",
        target_id="prj_abc",
        enqueued_at=timezone.now() - timedelta(hours=2),
    )
    out = StringIO()
    call_command("webhooks_trim", stdout=out)
    assert "re-queued 1 stale re-fetch(es)" in out.getvalue()
    assert DBTaskResult.objects.get().args_kwargs["kwargs"] == {
        "kind": "project",
        "target_key": "abc",
    }


@pytest.mark.django_db(transaction=True)
def test_a_concurrent_burst_still_makes_one_refetch_and_one_task(secret):
    """Twelve deliveries at once, each on its own connection (as web processes would): one
    pending row, one task, every event recorded."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection
    from django.test import Client

    payload = {"id": "cnt_00000000-0000-4000-8000-0000000b0257", "projectId": ""}

    def one(i: int) -> int:
        try:
            response = deliver(Client(), event(event_id=f"evt_C{i:02d}", data=payload))
            return response.status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(one, range(12)))
    assert answers == [200] * 12
    assert WebhookEvent.objects.filter(status="received").count() == 12
    assert PendingRefetch.objects.count() == 1
    assert DBTaskResult.objects.count() == 1 and TaskRecord.objects.count() == 1
