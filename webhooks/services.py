"""Webhook deliveries in, re-fetches out.

A delivery is answered within milliseconds and never calls the Layers API: ``webhook_receive``
records the event (once per event id), decides what it asks for (``refetch_decide``) and
requests that re-fetch (``pending_refetch_request``). A burst of events for one container or
project becomes one ``PendingRefetch`` row and one task; the task (``pending_refetch_run``, on
a worker) claims the row, re-fetches (``sync.services.refetch.container_refetch``, or the sync
of one project), marks the events it covered processed or failed, and deletes the row, or
puts it back to ``pending`` with a new task when events arrived while it ran.

Replays (REFERENCE C14, C15): Layers retries with the same event id, and a deliberate replay
names the original in ``replayOf``. An event whose work succeeded (or that needed none) is
answered 200 without acting again; one that failed or never finished is processed again.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django_tasks.backends.immediate import ImmediateBackend

from layersadmin.layers import get_client
from layersadmin.layers.ids import id_key
from projects.models import Project
from sync.models import TaskRecord
from sync.services import layers_sync
from sync.services.refetch import container_refetch
from sync.tasks import sync_summary, task_enqueue
from webhooks.models import PendingRefetch, WebhookEvent
from webhooks.payload import EventRead, clean_id, payload_read
from webhooks.vocabulary import CONTAINER, CONTENT_FAMILY, JOB_FAMILY, POST_FAMILY, PROJECT

logger = logging.getLogger(__name__)

MAX_BODY = 1 << 20  # 1 MB: larger deliveries are refused (413) before they are read
KEEP_DAYS = 7  # event ids are kept at least this long (C14: retries span about 32 hours)
# A pending re-fetch whose task has not claimed it after this long is queued again (its task
# was lost: a Redis flushed, a row pruned); a claim older than RUNNING_STALE is taken over (its
# worker died). A task that finds its row already claimed does nothing, so a spare task is
# harmless.
PENDING_STALE = timedelta(minutes=10)
RUNNING_STALE = timedelta(minutes=60)
TRIM_EVERY_SECONDS = 3600  # the tasks trim old events at most this often
TRIGGER = "webhook"  # SyncRun.trigger of a project re-fetch a webhook asked for


# --- receiving ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Receipt:
    """What became of a delivery."""

    event: WebhookEvent
    duplicate: bool  # its work had succeeded (or needed none): nothing was done
    queued: bool  # a new task was enqueued for it (else it joined pending work, or needs none)


@dataclass(frozen=True)
class Decision:
    """What an event asks for: a re-fetch (``kind`` and ``target_id``), nothing, or an error."""

    kind: str = ""
    target_id: str = ""
    error: str = ""


def event_id_for(*, header_id: str, read: EventRead, body: bytes) -> str:
    """The id an event is recorded under: the replayed event's (C15) for a replay, else the
    ``X-Layers-Event-Id``, else the payload's own id, else a digest of the body (a retry sends
    the same body, so even an event without an id is acted on once)."""
    return (
        read.replay_of
        or clean_id(header_id)
        or read.event_id
        or "sha256:" + hashlib.sha256(body).hexdigest()[:56]
    )


def webhook_receive(*, header_id: str, payload: Any, body: bytes) -> Receipt:
    """Record a verified delivery and request the re-fetch it asks for. No API call."""
    read = payload_read(payload)
    event_id = event_id_for(header_id=header_id, read=read, body=body)
    decision = refetch_decide(read)
    now = timezone.now()
    fields = {
        "event_type": read.event_type,
        "project_id": read.project_id,
        "container_id": read.container_id,
        "refetch_kind": decision.kind,
        "refetch_key": id_key(decision.target_id),
        "error": decision.error,
        "payload": payload if isinstance(payload, dict) else {},
        "last_delivery_id": clean_id(header_id),
    }
    if decision.kind:
        status = WebhookEvent.Status.RECEIVED
    elif decision.error:
        status = WebhookEvent.Status.FAILED
    else:
        status = WebhookEvent.Status.IGNORED
    with transaction.atomic():
        event, created = WebhookEvent.objects.get_or_create(
            event_id=event_id, defaults={**fields, "status": status, "last_received_at": now}
        )
        if not created:
            event = WebhookEvent.objects.select_for_update().get(pk=event.pk)
            done = event.status in (WebhookEvent.Status.PROCESSED, WebhookEvent.Status.IGNORED)
            again = {
                "deliveries": F("deliveries") + 1,
                "last_received_at": now,
                "last_delivery_id": fields["last_delivery_id"],
            }
            if not done:  # failed or never finished: processed again, from this delivery
                again.update(fields, status=status, processed_at=None, task_id="")
            WebhookEvent.objects.filter(pk=event.pk).update(**again)
            event.refresh_from_db()
            if done:
                return Receipt(event=event, duplicate=True, queued=False)
    queued = False
    if decision.kind:
        queued = pending_refetch_request(
            kind=decision.kind, target_id=decision.target_id, project_id=read.project_id
        )
    return Receipt(event=event, duplicate=False, queued=queued)


def refetch_decide(read: EventRead) -> Decision:
    """What an event asks us to re-fetch.

    A content event: its container, or its project when that is not mirrored yet (a container
    cannot be stored without its project) or the payload names no container. Without a project
    id the task's GET /content/{id} finds it (``container_refetch``). A job or post event: its
    project (a job makes containers; posts are scheduled from them), or the container it names.
    Any other event: nothing.
    """
    kind = read.event_type
    container, project = read.container_id, read.project_id
    if kind.startswith(CONTENT_FAMILY):
        if container and project and not _mirrored(project):
            return Decision(PROJECT, project)
        if container:
            return Decision(CONTAINER, container)
        if project:
            return Decision(PROJECT, project)
        return Decision(error="No container or project id found in the payload.")
    if kind.startswith((JOB_FAMILY, POST_FAMILY)):
        if project:
            return Decision(PROJECT, project)
        if container:
            return Decision(CONTAINER, container)
        return Decision(error="No project or container id found in the payload.")
    return Decision()


def _mirrored(project_id: str) -> bool:
    return Project.objects.filter(key=id_key(project_id)).exists()


# --- the pending work ----------------------------------------------------------------------------


def pending_refetch_request(*, kind: str, target_id: str, project_id: str = "") -> bool:
    """Ask for a re-fetch of ``target_id``: insert its pending row and enqueue its task, or,
    when a row exists, mark it dirty (a running task then runs again). Returns whether a task
    was enqueued."""
    key = id_key(target_id)
    for _ in range(3):
        now = timezone.now()
        if PendingRefetch.objects.filter(kind=kind, target_key=key).update(dirty=True):
            return _requeue_if_stale(kind=kind, key=key, now=now)
        row = PendingRefetch(
            kind=kind, target_key=key, target_id=target_id, project_id=project_id, enqueued_at=now
        )
        try:
            if _runs_now():
                with transaction.atomic():
                    row.save()
                _enqueue(row)  # runs the task at once: no transaction around it
            else:
                # The pending row and the task's row (database backend) commit together.
                with transaction.atomic():
                    row.save()
                    _enqueue(row)
            return True
        except IntegrityError:  # another delivery inserted it first: join that one
            continue
    return False


def _requeue_if_stale(*, kind: str, key: str, now) -> bool:
    """Queue a new task for a row whose task was lost or whose worker died."""
    rows = PendingRefetch.objects.filter(kind=kind, target_key=key)
    stale = rows.filter(state=PendingRefetch.State.PENDING, enqueued_at__lt=now - PENDING_STALE)
    stale = stale | rows.filter(
        state=PendingRefetch.State.RUNNING, claimed_at__lt=now - RUNNING_STALE
    )
    taken = stale.update(
        state=PendingRefetch.State.PENDING, dirty=False, enqueued_at=now, claim_token=""
    )
    if not taken:
        return False
    row = rows.first()
    if row is not None:
        logger.warning("re-queued a stale %s re-fetch of %s", kind, row.target_id)
        _enqueue(row)
    return row is not None


def _runs_now() -> bool:
    from webhooks.tasks import webhook_refetch_task

    return isinstance(webhook_refetch_task.get_backend(), ImmediateBackend)


def _enqueue(row: PendingRefetch) -> None:
    from webhooks.tasks import webhook_refetch_task

    project = row.target_id if row.kind == PROJECT else row.project_id
    record = task_enqueue(
        webhook_refetch_task,
        kind=TaskRecord.Kind.PROJECT_REFETCH
        if row.kind == PROJECT
        else TaskRecord.Kind.CONTAINER_REFETCH,
        user=None,
        project_ids=[project] if project else [],
        kwargs={"kind": row.kind, "target_key": row.target_key},
    )
    PendingRefetch.objects.filter(pk=row.pk).update(task_id=record.task_id)


def pending_refetch_run(*, kind: str, target_key: str, task_id: str = "") -> dict:
    """The task's work: claim the pending row, re-fetch, mark the events, finish the row.
    Raises what the re-fetch raised (after marking its events failed), so the task fails."""
    token = uuid.uuid4().hex
    claimed_at = timezone.now()
    rows = PendingRefetch.objects.filter(kind=kind, target_key=target_key)
    claimed = rows.filter(state=PendingRefetch.State.PENDING).update(
        state=PendingRefetch.State.RUNNING,
        dirty=False,
        claimed_at=claimed_at,
        claim_token=token,
        task_id=task_id,
    )
    if not claimed:  # done by another task already, or claimed by one now
        return {"kind": kind, "target": target_key, "status": "nothing to do"}
    row = rows.get()
    try:
        outcome = _refetch(row)
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"[:1000]
        _events_mark(row, claimed_at, WebhookEvent.Status.FAILED, error=error, task_id=task_id)
        _finish(row, token)
        raise
    failed = outcome.pop("failed", "")
    status = WebhookEvent.Status.FAILED if failed else WebhookEvent.Status.PROCESSED
    marked = _events_mark(row, claimed_at, status, error=failed, task_id=task_id)
    _finish(row, token)
    if cache.add("webhooks:trimmed", True, TRIM_EVERY_SECONDS):
        webhook_events_trim()
    return {"kind": kind, "target": row.target_id, "events": marked, **outcome}


def _refetch(row: PendingRefetch) -> dict:
    """Do the work. A ``failed`` key in the answer marks the events failed (with it)."""
    if row.kind == PROJECT:
        return _project_refetch(row.target_id)
    try:
        container = container_refetch(container_id=row.target_id)
    except Project.DoesNotExist:
        # Its project is not mirrored yet: sync that project (which reads its content).
        return _project_refetch(row.project_id or _project_of_content(row.target_id))
    if container is None:
        return {"status": "gone"}
    return {"status": "stored", "project": container.project.layers_id}


def _project_refetch(project_id: str) -> dict:
    if not project_id:
        return {"status": "failed", "failed": "The container names no project."}
    result = layers_sync(project_ids=[project_id], trigger=TRIGGER)
    summary = sync_summary(result)
    if result.run.status != "succeeded" or result.failed:
        summary["failed"] = f"Sync run #{result.run.pk} {result.run.status}."
    return summary


def _project_of_content(container_id: str) -> str:
    client = get_client()
    try:
        return clean_id(client.content_get(container_id).get("projectId"))
    finally:
        client.close()


def _events_mark(row: PendingRefetch, claimed_at, status: str, *, error: str, task_id: str) -> int:
    """The events this run covered: those of its target received up to its claim."""
    return WebhookEvent.objects.filter(
        refetch_kind=row.kind,
        refetch_key=row.target_key,
        status=WebhookEvent.Status.RECEIVED,
        last_received_at__lte=claimed_at,
    ).update(status=status, processed_at=timezone.now(), error=error, task_id=task_id)


def _finish(row: PendingRefetch, token: str) -> None:
    """Delete the row, unless an event arrived while the work ran: then queue it again."""
    mine = PendingRefetch.objects.filter(pk=row.pk, claim_token=token)
    if mine.filter(dirty=False).delete()[0]:
        return
    again = mine.filter(dirty=True).update(
        state=PendingRefetch.State.PENDING,
        dirty=False,
        enqueued_at=timezone.now(),
        claimed_at=None,
        claim_token="",
    )
    if again:  # (else another task took the row over: it finishes it)
        _enqueue(row)


# --- retention ---------------------------------------------------------------------------------


def webhook_events_trim(*, days: int = KEEP_DAYS, now=None) -> int:
    """Delete events last delivered more than ``days`` ago (never fewer than KEEP_DAYS: Layers
    retries for about 32 hours, and an id forgotten early would be acted on twice). Returns how
    many were deleted."""
    days = max(int(days), KEEP_DAYS)
    cutoff = (now or timezone.now()) - timedelta(days=days)
    deleted, _ = WebhookEvent.objects.filter(last_received_at__lt=cutoff).delete()
    return deleted


def pending_refetch_recover(*, now=None) -> int:
    """Queue again every pending re-fetch whose task was lost or whose worker died."""
    now = now or timezone.now()
    count = 0
    for kind, key in PendingRefetch.objects.values_list("kind", "target_key"):
        count += _requeue_if_stale(kind=kind, key=key, now=now)
    return count
