"""Background tasks: work a person or an event starts runs on a worker, never in a request.

At the standard rate tier a sync outlives gunicorn's 30-second timeout, so admin's "Sync
selected projects now" (and every re-fetch) enqueues a task here and answers at once with a
link to its status page (``task_status``). The tasks use django-tasks, the backport of Django
6's ``django.tasks``: on Django 6 only the ``django_tasks`` imports change. Which backend runs
them is ``LAYERS_TASKS_BACKEND`` (settings; README "Background tasks and workers").

Rules every task here follows: keyword arguments only, each JSON-serialisable (the backend
stores them); the task calls one existing service and returns a small JSON summary; no
business logic of its own. The ``*_enqueue`` helpers are how the web side starts one: they
record who started it (``TaskRecord``), which the status page's access check reads.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.dispatch import receiver
from django_tasks import TaskResult, TaskResultStatus, task
from django_tasks.backends.immediate import ImmediateBackend
from django_tasks.base import Task
from django_tasks.exceptions import TaskResultDoesNotExist
from django_tasks.signals import task_finished

from sync.models import TaskRecord
from sync.services import layers_sync
from sync.services.refetch import container_refetch

if TYPE_CHECKING:
    from sync.services import SyncResult

logger = logging.getLogger(__name__)

# The sync's runs started by a task say so (SyncRun.trigger).
TRIGGER = "task"


# --- the tasks ---------------------------------------------------------------------------------


@task()
def project_sync_task(*, project_ids: list[str], user_id: int | None, full: bool = False) -> dict:
    """Sync these projects (Layers ids; empty: every project) as ``user_id`` asked."""
    result = layers_sync(project_ids=project_ids, full=full, trigger=TRIGGER, user=_user(user_id))
    return sync_summary(result)


@task()
def project_refetch_task(*, project_id: str) -> dict:
    """Re-fetch one project: the sync GETs it (a 404 marks it gone), then syncs it."""
    return sync_summary(layers_sync(project_ids=[project_id], trigger=TRIGGER))


@task()
def container_refetch_task(*, container_id: str) -> dict:
    """Re-fetch one content container (GET /content/{id}); a 404 marks it gone."""
    container = container_refetch(container_id=container_id)
    if container is None:
        return {"container_id": container_id, "status": "gone"}
    return {
        "container_id": container.layers_id,
        "project_id": container.project.layers_id,
        "status": "stored",
    }


def sync_summary(result: SyncResult) -> dict:
    """What a sync task returns (JSON): its run, outcome, counts per kind and errors."""
    return {
        "run_id": result.run.pk,
        "status": result.run.status,
        "counts": {kind: counts.as_dict() for kind, counts in result.counts.items()},
        "errors": len(result.errors),
    }


def _user(user_id: int | None):
    if user_id is None:
        return None
    return get_user_model().objects.filter(pk=user_id).first()


# --- starting them from the web side ----------------------------------------------------------


def project_sync_enqueue(*, project_ids: list[str], user, full: bool = False) -> TaskRecord:
    return task_enqueue(
        project_sync_task,
        kind=TaskRecord.Kind.SYNC,
        user=user,
        project_ids=project_ids,
        kwargs={"project_ids": list(project_ids), "user_id": _user_id(user), "full": full},
    )


def project_refetch_enqueue(*, project_id: str, user) -> TaskRecord:
    return task_enqueue(
        project_refetch_task,
        kind=TaskRecord.Kind.PROJECT_REFETCH,
        user=user,
        project_ids=[project_id],
        kwargs={"project_id": project_id},
    )


def container_refetch_enqueue(*, container_id: str, user, project_id: str = "") -> TaskRecord:
    return task_enqueue(
        container_refetch_task,
        kind=TaskRecord.Kind.CONTAINER_REFETCH,
        user=user,
        project_ids=[project_id] if project_id else [],
        kwargs={"container_id": container_id},
    )


def task_enqueue(
    task: Task, *, kind: str, user, project_ids: list[str], kwargs: dict[str, Any]
) -> TaskRecord:
    """Enqueue ``task`` and record who started it. The task row (database backend) and the
    record commit together, so a worker never runs a task whose record is not there yet. The
    immediate backend runs the task inside ``enqueue``: no transaction around it then (the
    sync commits page by page), and its outcome is recorded at once."""
    runs_now = isinstance(task.get_backend(), ImmediateBackend)
    with contextlib.nullcontext() if runs_now else transaction.atomic():
        result = task.enqueue(**kwargs)
        return TaskRecord.objects.create(
            task_id=str(result.id),
            kind=kind,
            user=user if getattr(user, "pk", None) else None,
            project_ids=list(project_ids),
            **task_outcome(result),
        )


def _user_id(user) -> int | None:
    return getattr(user, "pk", None)


# --- what the status page shows -----------------------------------------------------------------

STATES = {
    TaskResultStatus.READY: "queued",
    TaskResultStatus.RUNNING: "running",
    TaskResultStatus.SUCCESSFUL: "done",
    TaskResultStatus.FAILED: "failed",
}
FINISHED = {"done", "failed", "unknown"}


@dataclass(frozen=True)
class TaskState:
    """A task as its status page shows it."""

    status: str  # queued, running, done, failed; unknown: the backend no longer has it
    result: Any = None  # the task's summary when done
    error: str = ""  # the exception's class when failed
    finished_at: datetime | None = None

    @property
    def finished(self) -> bool:
        return self.status in FINISHED


def task_outcome(result: TaskResult) -> dict[str, Any]:
    """TaskRecord's fields for what ``result`` says."""
    status = STATES.get(result.status, "queued")
    return {
        "status": status,
        "result": result.return_value if status == "done" else None,
        "finished_at": result.finished_at,
    }


def task_state(record: TaskRecord) -> TaskState:
    """The task's state from the backend when it can tell (and the record brought up to date),
    else the record's last known one (the immediate backend keeps nothing; RQ drops a finished
    job after its result TTL; old database rows may be pruned)."""
    from django_tasks import default_task_backend

    result = None
    if default_task_backend.supports_get_result:
        with contextlib.suppress(TaskResultDoesNotExist):
            result = default_task_backend.get_result(record.task_id)
    if result is None:
        status = record.status if record.status in FINISHED else "unknown"
        return TaskState(status=status, result=record.result, finished_at=record.finished_at)
    outcome = task_outcome(result)
    changed = {k: v for k, v in outcome.items() if getattr(record, k) != v}
    if changed:
        TaskRecord.objects.filter(pk=record.pk).update(**changed)
    error = result.errors[-1].exception_class_path if result.errors else ""
    return TaskState(
        status=outcome["status"],
        result=outcome["result"],
        error=error if outcome["status"] == "failed" else "",
        finished_at=outcome["finished_at"],
    )


@receiver(task_finished, dispatch_uid="sync.tasks.record_outcome")
def _record_outcome(sender, task_result: TaskResult, **kwargs) -> None:
    """Keep the record's outcome current where the task ran (a worker), so admin's list is
    right for tasks whose page nobody opened. Never raises: a worker sends this signal inside
    its error handling, and an exception here would mark a finished task failed."""
    try:
        TaskRecord.objects.filter(task_id=task_result.id).update(**task_outcome(task_result))
    except Exception:
        logger.exception("could not record the outcome of task %s", task_result.id)
