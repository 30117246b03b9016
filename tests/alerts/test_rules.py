"""The alert rules: each on synced data (the sandbox over HTTP, or rows as the sync writes
them), raised once, cleared, raised again; set-based (queries do not grow with creatives)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alerts import vocabulary as v
from alerts.models import Alert, ProjectSyncStreak
from alerts.services import (
    alerts_after_project_sync,
    alerts_after_run,
    alerts_evaluate_creatives,
    alerts_evaluate_projects,
)
from creatives.models import AdsContent, OverrideAudit
from creatives.services import creative_override_set
from projects.models import Project
from sync.services import layers_sync
from tests.conftest import make_client
from tests.factories import (
    AdsContentFactory,
    LeaderboardSnapshotFactory,
    ProjectFactory,
    ScoreSampleFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def open_alerts(rule: str, project=None) -> set[int | None]:
    rows = Alert.objects.filter(rule=rule, cleared_at__isnull=True)
    if project is not None:
        rows = rows.filter(project=project)
    return set(rows.values_list("ads_content_id", flat=True))


# --- on a synced sandbox ------------------------------------------------------------------------


def test_sync_raises_the_gate_rules_exactly_for_the_rows_that_break_them(synced):
    """The sync's signal evaluated the rules: one alert per included-under-4.0 and per
    excluded-at-4.0-or-more creative, as the mirrored rows say, and no other."""
    rows = AdsContent.objects.filter(is_gone=False)
    low = set(rows.filter(override="include", organic_score__lt=4.0).values_list("pk", flat=True))
    high = set(rows.filter(override="exclude", organic_score__gte=4.0).values_list("pk", flat=True))
    assert low and high  # the seed has both
    assert open_alerts(v.INCLUDED_LOW) == low
    assert open_alerts(v.EXCLUDED_HIGH) == high
    # A second sync finds the same: nothing new is opened, nothing cleared.
    before = Alert.objects.count()
    assert layers_sync(client=make_client(synced)).ok
    assert Alert.objects.count() == before
    assert not Alert.objects.filter(cleared_at__isnull=False).exists()


def test_an_override_changed_in_layers_is_noticed_then_clears(synced, settings):
    """layersadmin includes a creative (audited); someone clears it in Layers; the next sync
    raises "changed outside"; layersadmin sets it again and the next sync clears it."""
    creative = (
        AdsContent.objects.filter(override="", organic_score__gte=4.0).order_by("layers_id").first()
    )
    user = UserFactory()
    creative_override_set(ads_content=creative, user=user, override="include", note="pin")
    assert OverrideAudit.objects.filter(ads_content=creative, outcome="succeeded").exists()
    assert layers_sync(client=make_client(synced)).ok
    assert creative.pk not in open_alerts(v.OVERRIDE_OUTSIDE)

    upstream = synced.store.project_by_any_id(creative.project.layers_id)
    row = next(r for r in upstream.ads.values() if r.id.endswith(creative.key))
    with synced.store.lock:
        row.override, row.note, row.set_by, row.set_at = None, None, None, None
        row.touch()
    assert layers_sync(client=make_client(synced)).ok
    creative.refresh_from_db()
    assert creative.override == ""
    assert open_alerts(v.OVERRIDE_OUTSIDE) == {creative.pk}
    alert = Alert.objects.get(rule=v.OVERRIDE_OUTSIDE)
    assert alert.detail["ours"] == "include" and alert.detail["now"] == ""

    creative_override_set(ads_content=creative, user=user, override="include", note="again")
    assert layers_sync(client=make_client(synced)).ok
    alert.refresh_from_db()
    assert alert.cleared_at is not None
    assert open_alerts(v.OVERRIDE_OUTSIDE) == set()


def test_a_project_that_stops_syncing_is_noticed_by_the_run(synced, settings):
    """No project sync happens (nothing due), but every run evaluates the project rules: a
    project whose content was last read long ago raises "older than its target"."""
    project = Project.objects.filter(status="active").first()
    long_ago = timezone.now() - dt.timedelta(hours=3)
    Project.objects.filter(pk=project.pk).update(content_read_at=long_ago)
    alerts_after_run()
    assert Alert.objects.filter(rule=v.SYNC_STALE, project=project, cleared_at=None).exists()
    late = Alert.objects.get(rule=v.SYNC_STALE, project=project).detail["late"]
    assert [k["kind"] for k in late] == ["Content"]
    # Read again: the next run clears it.
    Project.objects.filter(pk=project.pk).update(content_read_at=timezone.now())
    alerts_after_run()
    assert not Alert.objects.filter(rule=v.SYNC_STALE, cleared_at=None).exists()


# --- rows as the sync writes them ---------------------------------------------------------------


def test_excluded_creative_with_running_ads(project):
    running = [{"platform": "tiktok", "campaignId": "c1", "adId": "a1", "startedAt": "x"}]
    promoted = AdsContentFactory(
        project=project, override="exclude", organic_score=2.0, active_promotions=running
    )
    AdsContentFactory(project=project, override="exclude", organic_score=2.0)
    AdsContentFactory(project=project, override="", organic_score=2.0, active_promotions=running)
    alerts_evaluate_creatives(project=project)
    assert open_alerts(v.EXCLUDED_PROMOTED) == {promoted.pk}
    assert Alert.objects.get(rule=v.EXCLUDED_PROMOTED).detail["platforms"] == ["tiktok"]
    AdsContent.objects.filter(pk=promoted.pk).update(active_promotions=[])  # paused at last
    alerts_evaluate_creatives(project=project)
    assert open_alerts(v.EXCLUDED_PROMOTED) == set()


def test_raised_once_cleared_then_raised_again(project):
    creative = AdsContentFactory(project=project, override="include", organic_score=3.1)
    first = alerts_evaluate_creatives(project=project)
    assert [a.rule for a in first] == [v.INCLUDED_LOW]
    assert alerts_evaluate_creatives(project=project) == []  # still holding: not raised again
    assert Alert.objects.filter(rule=v.INCLUDED_LOW).count() == 1
    AdsContent.objects.filter(pk=creative.pk).update(organic_score=4.5)
    assert alerts_evaluate_creatives(project=project) == []
    assert Alert.objects.get(rule=v.INCLUDED_LOW).cleared_at is not None
    AdsContent.objects.filter(pk=creative.pk).update(organic_score=3.9)
    again = alerts_evaluate_creatives(project=project)
    assert [a.rule for a in again] == [v.INCLUDED_LOW]
    assert Alert.objects.filter(rule=v.INCLUDED_LOW).count() == 2
    assert Alert.objects.filter(rule=v.INCLUDED_LOW, cleared_at=None).count() == 1


def test_the_database_keeps_one_open_alert_per_rule_and_creative(project):
    from django.db import IntegrityError, transaction

    creative = AdsContentFactory(project=project)
    now = timezone.now()
    Alert.objects.create(rule=v.SCORE_DROP, project=project, ads_content=creative, opened_at=now)
    with pytest.raises(IntegrityError), transaction.atomic():
        Alert.objects.create(
            rule=v.SCORE_DROP, project=project, ads_content=creative, opened_at=now
        )
    Alert.objects.create(rule=v.SYNC_STALE, project=project, opened_at=now)
    with pytest.raises(IntegrityError), transaction.atomic():
        Alert.objects.create(rule=v.SYNC_STALE, project=project, opened_at=now)
    # Cleared ones do not count.
    Alert.objects.update(cleared_at=now)
    Alert.objects.create(rule=v.SCORE_DROP, project=project, ads_content=creative, opened_at=now)
    Alert.objects.create(rule=v.SYNC_STALE, project=project, opened_at=now)


def board(project, ids: list[str], minutes_ago: int, metric: str = "views"):
    items = [{"rank": i + 1, "adsContentId": f"adc_{x}"} for i, x in enumerate(ids)]
    return LeaderboardSnapshotFactory(
        project=project,
        metric=metric,
        window="30d",
        items=items,
        fetched_at=timezone.now() - dt.timedelta(minutes=minutes_ago),
    )


def test_a_creative_entering_a_boards_top_n(project, settings):
    settings.LAYERS_ALERT_TOP_N = 2
    a, b, c = (AdsContentFactory(project=project) for _ in range(3))
    board(project, [a.layers_id], 60)
    alerts_evaluate_creatives(project=project)
    assert open_alerts(v.ENTERED_TOP) == set()  # one snapshot: no "before", nothing entered
    board(project, [a.layers_id, b.layers_id, c.layers_id], 30)  # c is third: not in the top 2
    alerts_evaluate_creatives(project=project)
    assert open_alerts(v.ENTERED_TOP) == {b.pk}
    detail = Alert.objects.get(rule=v.ENTERED_TOP).detail
    assert (detail["rank"], detail["metric"], detail["window"]) == (2, "views", "30d")
    board(project, [c.layers_id, a.layers_id, b.layers_id], 0)  # b fell out, c entered
    alerts_evaluate_creatives(project=project)
    assert open_alerts(v.ENTERED_TOP) == {c.pk}


def test_a_score_drop_since_the_baseline(project, settings):
    settings.LAYERS_ALERT_SCORE_DROP = 1.5
    settings.LAYERS_ALERT_SCORE_DROP_DAYS = 7
    now = timezone.now()
    dropped = AdsContentFactory(project=project, organic_score=5.0)
    ScoreSampleFactory(ads_content=dropped, score=7.0, observed_at=now - dt.timedelta(days=9))
    ScoreSampleFactory(ads_content=dropped, score=5.0, observed_at=now - dt.timedelta(days=1))
    small = AdsContentFactory(project=project, organic_score=6.0)  # 7.0 -> 6.0: under 1.5
    ScoreSampleFactory(ads_content=small, score=7.0, observed_at=now - dt.timedelta(days=9))
    young = AdsContentFactory(project=project, organic_score=4.0)  # first seen at 6.0
    ScoreSampleFactory(ads_content=young, score=6.0, observed_at=now - dt.timedelta(days=2))
    # Older than the baseline, its score then was low: rising since is no drop.
    rose = AdsContentFactory(project=project, organic_score=8.0)
    ScoreSampleFactory(ads_content=rose, score=9.9, observed_at=now - dt.timedelta(days=20))
    ScoreSampleFactory(ads_content=rose, score=6.0, observed_at=now - dt.timedelta(days=8))
    alerts_evaluate_creatives(project=project)
    assert open_alerts(v.SCORE_DROP) == {dropped.pk, young.pk}
    assert Alert.objects.get(ads_content=dropped).detail["baseline"] == 7.0


def test_sync_failing_n_times_in_a_row(project, settings):
    settings.LAYERS_ALERT_SYNC_FAILURES = 3
    for _ in range(2):
        alerts_after_project_sync(project=project, ok=False, error="UNAVAILABLE: <b>down</b>")
    assert open_alerts(v.SYNC_FAILING) == set()
    alerts_after_project_sync(project=project, ok=False, error="UNAVAILABLE: <b>down</b>")
    alert = Alert.objects.get(rule=v.SYNC_FAILING, cleared_at=None)
    assert alert.ads_content is None and alert.detail["failures"] == 3
    alerts_after_project_sync(project=project, ok=True)
    assert ProjectSyncStreak.objects.get(project=project).failures_in_row == 0
    alert.refresh_from_db()
    assert alert.cleared_at is not None


def test_an_archived_project_clears_its_alerts(project):
    AdsContentFactory(project=project, override="include", organic_score=1.0)
    alerts_evaluate_creatives(project=project)
    Project.objects.filter(pk=project.pk).update(status="archived")
    project.refresh_from_db()
    alerts_evaluate_creatives(project=project)
    assert not Alert.objects.filter(cleared_at=None).exists()


def test_evaluation_is_set_based(project, django_assert_max_num_queries):
    """The creative rules of a project cost the same few queries for 3 or 60 creatives."""

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            alerts_evaluate_creatives(project=project)
        return len(captured)

    for _ in range(3):
        AdsContentFactory(project=project, override="include", organic_score=1.0)
    first = queries()  # opens 3 alerts, notifies
    steady = queries()
    for _ in range(60):
        c = AdsContentFactory(project=project, override="include", organic_score=1.0)
        ScoreSampleFactory(ads_content=c, score=9.0)
    grown = queries()  # opens 120 alerts
    assert grown == first, (first, grown)
    assert queries() == steady <= 10
    other = ProjectFactory()
    with django_assert_max_num_queries(8):
        alerts_evaluate_projects(project_ids=None)
    assert other.pk  # the run-level rules read every project at once
