"""How much history is kept.

* Scores: every observed score for ``SCORE_DETAIL_DAYS``, then one point per creative and day
  (the day's last), so history grows by at most one row per creative a day once it is old,
  instead of one per rescore for ever.
* Leaderboards beyond the configured ones: while someone looks at them. The project's
  board demands nobody has viewed for ``LAYERS_BOARD_DEMAND_DAYS`` are evicted with their
  snapshots (``creatives.demand.leaderboard_demand_evict``; configured boards never are),
  after every sync that reads the project's scored creatives (``project_history_trim``).
"""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Max, Subquery
from django.db.models.functions import TruncDate
from django.utils import timezone

from creatives.demand import leaderboard_demand_evict
from creatives.models import ScoreSample
from projects.models import Project

SCORE_DETAIL_DAYS = 30


def score_samples_compact(*, project: Project, now=None) -> int:
    """Thin the project's score samples older than ``SCORE_DETAIL_DAYS`` to the last of each
    (creative, UTC day). Returns how many were deleted."""
    cutoff = (now or timezone.now()) - timedelta(days=SCORE_DETAIL_DAYS)
    old = ScoreSample.objects.filter(ads_content__project=project, observed_at__lt=cutoff)
    kept = (
        old.annotate(day=TruncDate("observed_at"))
        .values("ads_content_id", "day")
        .annotate(last=Max("id"))
        .values("last")
    )
    deleted, _ = old.exclude(pk__in=Subquery(kept)).delete()
    return deleted


def project_history_trim(*, project: Project, now=None) -> None:
    """What the sync trims after reading a project's scored creatives: its old score samples
    and its board demands nobody looks at any more."""
    now = now or timezone.now()
    score_samples_compact(project=project, now=now)
    leaderboard_demand_evict(now=now, project=project)
