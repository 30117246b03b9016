"""How much score history is kept: every observed score for ``SCORE_DETAIL_DAYS``, then one
point per creative and day (the day's last), so history grows by at most one row per creative
a day once it is old, instead of one per rescore for ever."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Max, Subquery
from django.db.models.functions import TruncDate
from django.utils import timezone

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
