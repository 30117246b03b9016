"""Background tasks of the creatives app: a leaderboard fetched on a worker, never in a request.

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
