"""Score history retention (sync/services/retention.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from creatives.models import ScoreSample
from sync.services.retention import SCORE_DETAIL_DAYS, score_samples_compact
from tests.factories import AdsContentFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def test_old_history_keeps_the_last_point_of_each_day_and_recent_history_all():
    creative = AdsContentFactory()
    other = AdsContentFactory()  # another project's creative: never touched
    for days_ago in (SCORE_DETAIL_DAYS + 10, SCORE_DETAIL_DAYS + 2, 3):
        for hour in (1, 8, 20):
            for row in (creative, other):
                ScoreSample.objects.create(
                    ads_content=row,
                    score=hour,
                    observed_at=NOW - timedelta(days=days_ago) + timedelta(hours=hour - 12),
                )
    deleted = score_samples_compact(project=creative.project, now=NOW)
    assert deleted == 4  # two old days of three points each, down to one point each
    kept = list(
        ScoreSample.objects.filter(ads_content=creative)
        .order_by("observed_at")
        .values_list("score", flat=True)
    )
    assert kept == [20, 20, 1, 8, 20]  # the day's last point, then every recent one
    assert ScoreSample.objects.filter(ads_content=other).count() == 9
    assert score_samples_compact(project=creative.project, now=NOW) == 0  # idempotent
