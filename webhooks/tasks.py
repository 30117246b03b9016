"""The background task a webhook delivery queues (django-tasks, as ``sync.tasks``): keyword
arguments only, JSON-serialisable; it calls one service and returns a small JSON summary."""

from __future__ import annotations

from django_tasks import task
from django_tasks.base import TaskContext

from webhooks.services import pending_refetch_run


@task(takes_context=True)
def webhook_refetch_task(context: TaskContext, *, kind: str, target_key: str) -> dict:
    """Re-fetch what the pending re-fetch (``kind``, ``target_key``) names, once for however
    many events asked for it; a no-op when another task did it already."""
    return pending_refetch_run(
        kind=kind, target_key=target_key, task_id=str(context.task_result.id)
    )
