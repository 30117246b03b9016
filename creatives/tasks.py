"""Background tasks of the creatives app: a leaderboard fetched, or a bulk override sent, on a
worker, never in a request.

The leaderboard page queues one when Layers is busy on a first view, or when a board someone
looks at is older than its target (``creatives.demand``). Same framework and rules as
``sync.tasks`` (django-tasks; ``LAYERS_TASKS_BACKEND`` picks the backend): keyword arguments
only, JSON-serialisable; the task calls one service and returns a small JSON summary. It is
defined here, not in ``sync.tasks``, because creatives may not import sync.
"""

from __future__ import annotations

from django_tasks import task

from creatives.demand import leaderboard_demand_refresh


@task()
def leaderboard_refresh_task(*, demand_id: int) -> dict:
    """Fetch and store the board of one ``LeaderboardDemand``; clear its pending mark."""
    return leaderboard_demand_refresh(demand_id=demand_id)


@task()
def bulk_override_task(*, bulk_id: int) -> dict:
    """Send the pending rows of one ``BulkOverride`` (``creatives.bulk``), one PATCH each."""
    from creatives.bulk import bulk_override_run  # bulk queues this task: import at run time

    return bulk_override_run(bulk_id=bulk_id)
