"""Leaderboards on demand (creatives/demand.py): fetched on first view, kept with their age,
refreshed once when stale, queued when Layers is busy, evicted when nobody looks.

The API is the sandbox over HTTP; ``api_calls`` only watches the client's requests.
"""

from __future__ import annotations

import datetime as dt
import time

import pytest
import requests
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from creatives.demand import leaderboard_demand_evict, leaderboard_demand_refresh
from creatives.models import LeaderboardDemand, LeaderboardSnapshot
from layersadmin.layers import LayersClient
from projects.models import Project
from sync.services.retention import project_history_trim
from tests.conftest import HX, html
from tests.factories import LeaderboardSnapshotFactory, ProjectFactory

pytestmark = pytest.mark.django_db

TASK = "creatives.tasks.leaderboard_refresh_task"


def api_calls(monkeypatch) -> list[str]:
    """The paths of every request a LayersClient sends from now on (it still sends them)."""
    seen: list[str] = []
    original = LayersClient.request

    def spy(self, method, path, **kwargs):
        seen.append(path)
        return original(self, method, path, **kwargs)

    monkeypatch.setattr(LayersClient, "request", spy)
    return seen


def faults(server, **body):
    requests.post(f"{server.root_url}/_sandbox/faults", json=body, timeout=5).raise_for_status()


def board_url(project, query: str) -> str:
    return f"/projects/{project.layers_id}/leaderboard/?{query}"


def rows_in(page: str) -> int:
    return page.count('class="num rank"')


@pytest.fixture
def mine(synced, manager):
    """An active synced project of the signed-in manager."""
    project = Project.objects.filter(status="active").order_by("layers_id").first()
    project.account_managers.add(manager)
    return project


def test_first_view_of_a_never_synced_board_shows_rows_without_a_click(mine, client, monkeypatch):
    assert not LeaderboardSnapshot.objects.filter(project=mine, window="7d").exists()
    calls = api_calls(monkeypatch)
    page = html(client.get(board_url(mine, "metric=views&window=7d&limit=5"), **HX))
    assert rows_in(page) == 5 and "Fetched from Layers just now" in page
    assert calls == [f"/projects/{mine.layers_id}/top-performers"]  # one call, no click
    # Fetched with the API's default (25 rows): it serves every shorter list too.
    snapshot = LeaderboardSnapshot.objects.get(project=mine, window="7d")
    assert snapshot.filters == {} and 5 < len(snapshot.items) <= 25
    demand = LeaderboardDemand.objects.get(project=mine, window="7d")
    assert demand.last_fetched_at and demand.refresh_queued_at is None
    calls.clear()
    again = html(client.get(board_url(mine, "metric=views&window=7d&limit=20")))
    assert rows_in(again) == min(20, len(snapshot.items))
    assert "Fetched from Layers just now" not in again
    assert calls == [] and not DBTaskResult.objects.exists()


def test_a_stale_board_shows_its_age_and_two_views_queue_one_refresh(mine, client, monkeypatch):
    client.get(board_url(mine, "metric=engagement_rate&window=90d"))
    hours_ago = timezone.now() - dt.timedelta(hours=3)
    LeaderboardSnapshot.objects.filter(project=mine, window="90d").update(fetched_at=hours_ago)
    LeaderboardDemand.objects.filter(project=mine, window="90d").update(last_fetched_at=hours_ago)
    calls = api_calls(monkeypatch)
    pages = [html(client.get(board_url(mine, "metric=engagement_rate&window=90d"))) for _ in "ab"]
    for page in pages:
        assert rows_in(page) > 0 and "3 h ago" in page
        assert (
            "Older than the 60-minute target" in page and "A refresh from Layers is queued" in page
        )
    assert calls == []  # the page never waits for the refresh
    task = DBTaskResult.objects.get()  # exactly one for two views
    demand = LeaderboardDemand.objects.get(project=mine, window="90d")
    assert task.task_path == TASK and task.args_kwargs["kwargs"] == {"demand_id": demand.pk}

    summary = leaderboard_demand_refresh(demand_id=demand.pk)  # what the worker runs
    assert summary["status"] in ("stored", "unchanged")
    demand.refresh_from_db()
    assert demand.refresh_queued_at is None and demand.last_fetched_at > hours_ago
    page = html(client.get(board_url(mine, "metric=engagement_rate&window=90d")))
    assert "Older than" not in page and DBTaskResult.objects.count() == 1


def test_a_stale_configured_board_is_left_to_the_sync(mine, client):
    LeaderboardSnapshot.objects.filter(project=mine).update(
        fetched_at=timezone.now() - dt.timedelta(hours=2)
    )
    Project.objects.filter(pk=mine.pk).update(last_sync_ok_at=None)
    page = html(client.get(board_url(mine, "metric=views&window=30d")))
    assert "Older than the 60-minute target" in page and "The sync refreshes this board" in page
    assert not DBTaskResult.objects.exists()


def test_when_layers_is_busy_the_page_answers_at_once_queues_and_polls(
    synced, mine, client, settings, monkeypatch
):
    faults(synced, rate=0, next=["429"] * 6)  # Retry-After: 1 s
    settings.LAYERS_INTERACTIVE_MAX_WAIT = 0.5  # shorter than the wait Layers asks for
    started = time.monotonic()
    response = client.get(board_url(mine, "metric=watch_time_ms&window=7d"), **HX)
    assert time.monotonic() - started < 3
    page = html(response)
    assert response.status_code == 200 and rows_in(page) == 0
    assert "On its way" in page and "Layers is busy" in page
    assert 'hx-trigger="load delay:3s, click"' in page  # the fragment asks again by itself
    assert DBTaskResult.objects.get().task_path == TASK
    calls = api_calls(monkeypatch)
    poll = html(client.get(board_url(mine, "metric=watch_time_ms&window=7d"), **HX))
    assert "On its way" in poll and calls == [] and DBTaskResult.objects.count() == 1

    faults(synced, rate=0, next=[])
    demand = LeaderboardDemand.objects.get(project=mine, window="7d")
    assert leaderboard_demand_refresh(demand_id=demand.pk)["status"] == "stored"
    done = html(client.get(board_url(mine, "metric=watch_time_ms&window=7d"), **HX))
    assert rows_in(done) > 0 and "On its way" not in done and "hx-trigger" not in done


def test_when_layers_does_not_answer_the_page_says_so_and_waits_before_trying_again(
    synced, mine, client, settings, monkeypatch
):
    settings.LAYERS_API_MAX_ATTEMPTS = 1
    faults(synced, rate=0, next=["500"] * 3)
    page = html(client.get(board_url(mine, "metric=views&window=90d")))
    assert "Could not be fetched" in page and "code INTERNAL" in page
    assert not DBTaskResult.objects.exists()  # not busy: nothing queued
    calls = api_calls(monkeypatch)
    again = html(client.get(board_url(mine, "metric=views&window=90d")))
    assert "Could not be fetched" in again and calls == []  # one attempt a minute at most


def test_without_an_api_key_nothing_is_fetched_and_the_page_says_why(client, project):
    page = html(client.get(board_url(project, "metric=views&window=7d")))
    assert "no Layers API key is configured" in page and not DBTaskResult.objects.exists()


def test_a_declined_board_is_explained_in_the_apis_words_escaped(client, project):
    LeaderboardSnapshotFactory(
        project=project,
        metric="roas",
        declined=True,
        declined_message="metric=roas <b>requires</b> paid data.",
        filters={"sourceType": ["platform_post"]},
        filters_key='{"sourceType":["platform_post"]}',
    )
    LeaderboardSnapshotFactory(
        project=ProjectFactory(),
        metric="roas",
        filters={"sourceType": ["content_container", "manual"]},
        filters_key='{"sourceType":["content_container","manual"]}',
    )
    page = html(client.get(board_url(project, "metric=roas&sourceType=platform_post")))
    assert "Not available for this mix" in page and "&lt;b&gt;requires&lt;/b&gt;" in page
    assert "<b>requires" not in page
    assert "it ranks with Generated + Manual uploads" in page
    assert "it declined UGC posts" in page


def test_the_agency_board_fetches_the_missing_boards_without_a_click(
    synced, client, manager, monkeypatch
):
    active = list(Project.objects.filter(status="active"))
    for project in active:
        project.account_managers.add(manager)
    calls = api_calls(monkeypatch)
    page = html(client.get("/leaderboard/?metric=views&window=7d", **HX))
    assert rows_in(page) == 25 and "from Layers just now" in page
    assert sorted(calls) == sorted(f"/projects/{p.layers_id}/top-performers" for p in active)
    calls.clear()
    assert rows_in(html(client.get("/leaderboard/?metric=views&window=7d"))) == 25
    assert calls == []


# --- eviction -------------------------------------------------------------------------------------


def test_eviction_deletes_unviewed_demand_with_its_snapshots_never_a_configured_board(
    project, settings
):
    now = timezone.now()
    old = now - dt.timedelta(days=settings.LAYERS_BOARD_DEMAND_DAYS, hours=1)
    recent = now - dt.timedelta(days=1)
    key = '{"sourceType":["manual"]}'
    for _ in range(2):
        LeaderboardSnapshotFactory(project=project, window="7d", filters_key=key)
    LeaderboardSnapshotFactory(project=project, window="90d")  # viewed recently: kept
    LeaderboardSnapshotFactory(project=project, window="30d")  # configured views:30d: kept
    demands = [
        (project, "7d", key, old),
        (project, "90d", "", recent),
        (project, "30d", "", old),
    ]
    for owner, window, filters_key, viewed in demands:
        LeaderboardDemand.objects.create(
            project=owner, metric="views", window=window, filters_key=filters_key,
            last_viewed_at=viewed,
        )  # fmt: skip
    assert leaderboard_demand_evict(now=now) == (2, 2)
    left = LeaderboardDemand.objects.values_list("window", flat=True)
    assert list(left) == ["90d"]
    kept = sorted(LeaderboardSnapshot.objects.values_list("window", flat=True))
    assert kept == ["30d", "90d"]
    assert leaderboard_demand_evict(now=now) == (0, 0)


def test_the_syncs_retention_evicts_the_projects_unviewed_boards(project, settings):
    settings.LAYERS_BOARD_DEMAND_DAYS = 2
    now = timezone.now()
    LeaderboardSnapshotFactory(project=project, window="7d")
    LeaderboardDemand.objects.create(
        project=project, metric="views", window="7d", last_viewed_at=now - dt.timedelta(days=3)
    )
    project_history_trim(project=project, now=now)
    assert not LeaderboardDemand.objects.exists() and not LeaderboardSnapshot.objects.exists()


# --- queries per page -----------------------------------------------------------------------------


def test_a_demanded_boards_queries_stay_flat(client, project):
    def queries(url: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    def snapshots(n: int, days_ago: int) -> None:
        items = [{"rank": i, "adsContentId": f"a{i}", "metricValue": 100 - i} for i in range(n)]
        LeaderboardSnapshotFactory(
            project=project,
            window="7d",
            items=items,
            fetched_at=timezone.now() - dt.timedelta(minutes=5 + days_ago),
        )

    snapshots(3, 2)
    url = board_url(project, "metric=views&window=7d")
    client.get("/healthz")
    client.get(url)  # the first view records the demand
    small = queries(url)
    for n in range(5):
        snapshots(100, 1)
        LeaderboardDemand.objects.create(
            project=project, metric="views", window="90d", filters_key=str(n),
            last_viewed_at=timezone.now(),
        )  # fmt: skip
    assert queries(url) == small and small <= 12
