"""Creative selectors: filters, ordering, keyset pages (no gap, no repeat), leaderboards."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from creatives.selectors import (
    InvalidCursor,
    container_choices,
    container_page,
    container_queryset,
    creative_cursor_parse,
    creative_leaderboard_appearances,
    creative_page,
    creative_queryset,
    cursor_decode,
    cursor_encode,
    gallery_cursor_parse,
    leaderboard_agency,
    leaderboard_get,
    leaderboard_rows,
    watchlist_counts,
)
from creatives.services import filters_key
from projects.models import Project
from tests.factories import (
    BASE_TIME,
    AdsContentFactory,
    ContentContainerFactory,
    LeaderboardSnapshotFactory,
    ProjectFactory,
    ScoreSampleFactory,
)

pytestmark = pytest.mark.django_db


def walk(fetch, size):
    """Every page of a keyset list: the rows in order, and how many pages it took."""
    rows, cursor, pages = [], None, 0
    while True:
        page = fetch(cursor, size)
        pages += 1
        rows.extend(page.items)
        if not page.next_cursor:
            return rows, pages
        cursor = page.next_cursor


# --- gallery ------------------------------------------------------------------------------------


def test_gallery_filters_and_hides_gone_rows():
    project = ProjectFactory()
    a = ContentContainerFactory(project=project, status="completed", format="slideshow-builder")
    b = ContentContainerFactory(project=project, status="failed", format="video-remix")
    c = ContentContainerFactory(project=project, status="queued", creative_type="uploaded")
    ContentContainerFactory(project=project, is_gone=True)
    ContentContainerFactory()  # another project
    assert list(container_queryset(project=project)) == [a, b, c]  # newest first
    assert list(container_queryset(project=project, statuses=["failed", "queued"])) == [b, c]
    assert list(container_queryset(project=project, formats=["video-remix"])) == [b]
    assert list(container_queryset(project=project, creative_type="uploaded")) == [c]
    assert list(container_queryset(project=project, since=b.created_at)) == [a, b]
    assert list(container_queryset(project=project, until=b.created_at)) == [c]
    choices = container_choices(project=project)
    assert choices["status"] == ["completed", "failed", "queued"]
    assert choices["creative_type"] == ["generated", "uploaded"]


def test_gallery_card_knows_its_scored_creative():
    container = ContentContainerFactory()
    AdsContentFactory(project=container.project, container=container, organic_score=6.5)
    row = container_queryset(project=container.project).get()
    assert row.ads_content_score == 6.5 and row.ads_content_layers_id


def gallery_fetch(project):
    def fetch(cursor, size):
        parsed = gallery_cursor_parse(cursor) if cursor else None
        return container_page(project=project, cursor=parsed, size=size)

    return fetch


@pytest.mark.parametrize("size", [1, 3, 7, 25])
def test_gallery_pages_have_no_gap_and_no_repeat_even_on_equal_times(size):
    project = ProjectFactory()
    same = BASE_TIME - dt.timedelta(days=3)
    ContentContainerFactory.create_batch(6, project=project, created_at=same)  # ties
    ContentContainerFactory.create_batch(11, project=project)
    expected = list(container_queryset(project=project))
    rows, pages = walk(gallery_fetch(project), size)
    assert [r.pk for r in rows] == [r.pk for r in expected]
    assert len({r.pk for r in rows}) == 17
    assert pages == -(-17 // size)


def test_gallery_page_is_stable_when_new_content_arrives_between_pages():
    project = ProjectFactory()
    ContentContainerFactory.create_batch(5, project=project)
    first = container_page(project=project, size=2)
    ContentContainerFactory(project=project, created_at=BASE_TIME + dt.timedelta(hours=1))
    second = container_page(
        project=project, cursor=gallery_cursor_parse(first.next_cursor), size=10
    )
    assert [r.pk for r in first.items + second.items] == [
        r.pk for r in container_queryset(project=project)
    ][1:]  # everything but the newcomer, which sorts before the first page
    assert second.total == 6 and second.next_cursor is None


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage",
        "",
        "%%%",
        cursor_encode({"t": "notadate", "i": "x"}),
        cursor_encode({"t": "2026-01-01T00:00:00", "i": "x"}),  # naive
        cursor_encode({"t": "2026-01-01T00:00:00+00:00"}),
        cursor_encode({"t": "2026-01-01T00:00:00+00:00", "i": "x" * 65}),
        cursor_encode({"t": "2026-01-01T00:00:00+00:00", "i": "a\x00"}),
        "A" * 600,
    ],
)
def test_a_forged_gallery_cursor_is_refused(cursor):
    with pytest.raises(InvalidCursor):
        gallery_cursor_parse(cursor)


def test_cursor_roundtrip_is_opaque_base64():
    cursor = cursor_encode({"t": "2026-01-01T00:00:00+00:00", "i": "cnt_1"})
    assert "=" not in cursor and "{" not in cursor
    assert cursor_decode(cursor) == {"t": "2026-01-01T00:00:00+00:00", "i": "cnt_1"}


# --- scored creatives ---------------------------------------------------------------------------


@pytest.fixture
def creatives():
    project = ProjectFactory()
    rows = {
        "inc_low": AdsContentFactory(project=project, override="include", organic_score=3.0),
        "exc_high": AdsContentFactory(project=project, override="exclude", organic_score=8.0),
        "high": AdsContentFactory(project=project, organic_score=9.0, scoring_pool="ugc"),
        "low": AdsContentFactory(project=project, organic_score=1.5, scored_at=None),
        "edge": AdsContentFactory(project=project, organic_score=4.0),
    }
    AdsContentFactory(project=project, organic_score=9.9, is_gone=True)
    AdsContentFactory(organic_score=9.9)  # another project
    return project, rows


def keys(rows_by_key, queryset):
    names = {v.pk: k for k, v in rows_by_key.items()}
    return [names[r.pk] for r in queryset]


def test_creative_filters(creatives):
    project, rows = creatives

    def q(**kw):
        return keys(rows, creative_queryset(project=project, **kw))

    assert q() == ["high", "exc_high", "edge", "inc_low", "low"]
    assert q(pool="ugc") == ["high"]
    assert q(override="include") == ["inc_low"]
    assert q(override="exclude") == ["exc_high"]
    assert q(override="none") == ["high", "edge", "low"]
    assert q(override="set") == ["exc_high", "inc_low"]
    assert q(eligible=True) == ["high", "edge", "inc_low"]
    assert q(eligible=False) == ["exc_high", "low"]
    assert q(min_score=4.0) == ["high", "exc_high", "edge"]
    assert q(watch="included_low") == ["inc_low"]
    assert q(watch="excluded_high") == ["exc_high"]
    assert q(sort="score_asc") == ["low", "inc_low", "edge", "exc_high", "high"]
    assert watchlist_counts(project=project) == {"included_low": 1, "excluded_high": 1}


def creative_fetch(project, sort, **filters):
    def fetch(cursor, size):
        parsed = creative_cursor_parse(cursor, sort) if cursor else None
        return creative_page(project=project, sort=sort, cursor=parsed, size=size, **filters)

    return fetch


@pytest.mark.parametrize("sort", ["score_desc", "score_asc", "scored_at_desc"])
@pytest.mark.parametrize("size", [1, 4, 50])
def test_creative_pages_have_no_gap_and_no_repeat(sort, size):
    project = ProjectFactory()
    for index in range(23):
        AdsContentFactory(
            project=project,
            organic_score=[2.0, 4.0, 6.5][index % 3],  # many ties on the score
            scored_at=None if index % 5 == 0 else BASE_TIME - dt.timedelta(hours=index % 4),
        )
    expected = [r.pk for r in creative_queryset(project=project, sort=sort)]
    rows, _pages = walk(creative_fetch(project, sort), size)
    assert [r.pk for r in rows] == expected
    assert len(set(expected)) == 23
    if sort == "scored_at_desc":  # never-scored rows come last on both databases
        assert all(r.scored_at is None for r in rows[-5:])


def test_creative_page_carries_trend_and_local_author(creatives, user):
    from creatives.models import OverrideAudit

    project, rows = creatives
    for score in (5.0, 6.0, 9.0):
        ScoreSampleFactory(ads_content=rows["high"], score=score, observed_at=timezone.now())
    OverrideAudit.objects.create(
        user=user,
        project=project,
        ads_content=rows["exc_high"],
        after_override="exclude",
        idempotency_key="k",
        outcome="succeeded",
    )
    page = creative_page(project=project)
    by_pk = {r.pk: r for r in page.items}
    assert by_pk[rows["high"].pk].trend == [5.0, 6.0, 9.0]
    assert by_pk[rows["edge"].pk].trend == [4.0]  # no history yet: the current score
    assert by_pk[rows["exc_high"].pk].local_set_by == user.username
    assert page.total == 5


@pytest.mark.parametrize(
    ("cursor_sort", "value", "sort"),
    [
        ("score_desc", 5.0, "score_asc"),  # made for another sort
        ("score_desc", "abc", "score_desc"),
        ("score_desc", True, "score_desc"),
        ("score_desc", float("inf"), "score_desc"),
        ("scored_at_desc", "yesterday", "scored_at_desc"),
    ],
)
def test_a_creative_cursor_for_something_else_is_refused(cursor_sort, value, sort):
    cursor = cursor_encode({"s": cursor_sort, "v": value, "i": "x"})
    with pytest.raises(InvalidCursor):
        creative_cursor_parse(cursor, sort)


# --- leaderboards -------------------------------------------------------------------------------


def item(rank, ads_id, value, **extra):
    return {
        "rank": rank,
        "adsContentId": ads_id,
        "sourceType": "content_container",
        "title": f"Creative {ads_id}",
        "thumbnailUrl": f"https://media.example/{ads_id}.jpg",
        "metricValue": value,
        "organic": {"views": value, "engagementRate": 0.05, "platforms": ["tiktok"]},
        "paid": None,
        **extra,
    }


def test_leaderboard_rows_clean_what_the_api_sent():
    rows = leaderboard_rows(
        [
            item(2, "b", 50, thumbnailUrl="javascript:alert(1)"),
            "not an item",
            item(1, "a", 100, title="<b>bold</b>" * 200, organic="weird"),
            {"rank": "x", "metricValue": "NaN"},
        ]
    )
    assert [r.ads_content_id for r in rows] == ["a", "b", ""]
    assert rows[1].thumbnail_url == ""  # only http(s) URLs reach a src attribute
    assert rows[0].organic is None and len(rows[0].title) == 500
    assert rows[2].metric_value is None and rows[2].rank == 4  # falls back to its position


def test_leaderboard_uses_the_latest_snapshot_and_ranks_movement():
    project = ProjectFactory()
    AdsContentFactory(project=project, layers_id="a")
    now = timezone.now()
    LeaderboardSnapshotFactory(
        project=project,
        fetched_at=now - dt.timedelta(hours=2),
        items=[item(1, "a", 9), item(2, "b", 8), item(3, "gone", 1)],
    )
    LeaderboardSnapshotFactory(
        project=project,
        fetched_at=now,
        items=[item(1, "b", 200), item(2, "a", 100), item(3, "c", 50)],
    )
    LeaderboardSnapshotFactory(project=project, metric="roas", items=[item(1, "z", 3)])
    board = leaderboard_get(project=project, metric="views", window="30d")
    assert [(r.ads_content_id, r.movement, r.delta) for r in board.rows] == [
        ("b", "up", 1),
        ("a", "down", 1),
        ("c", "new", 0),
    ]
    assert [r.bar for r in board.rows] == [100.0, 50.0, 25.0]
    assert [r.linked for r in board.rows] == [False, True, False]  # only known creatives link
    assert board.previous is not None and board.snapshot.fetched_at == now


def test_first_snapshot_has_no_movement():
    project = ProjectFactory()
    LeaderboardSnapshotFactory(project=project, items=[item(1, "a", 9)])
    board = leaderboard_get(project=project, metric="views", window="30d")
    assert board.previous is None and board.rows[0].movement == ""


def test_a_shorter_list_is_served_from_a_longer_snapshot_with_the_same_filters():
    project = ProjectFactory()
    many = [item(i, f"id{i:02d}", 100 - i) for i in range(1, 26)]
    LeaderboardSnapshotFactory(project=project, items=many)
    filtered = {"sourceType": ["platform_post"]}
    LeaderboardSnapshotFactory(
        project=project, filters=filtered, filters_key=filters_key(filtered), items=many[:2]
    )
    board = leaderboard_get(project=project, metric="views", window="30d", limit=10)
    assert len(board.rows) == 10 and board.rows[0].ads_content_id == "id01"
    assert leaderboard_get(project=project, metric="views", window="30d", limit=50).rows == []
    other = leaderboard_get(
        project=project, metric="views", window="30d", source_types=["platform_post"]
    )
    assert len(other.rows) == 2
    assert leaderboard_get(project=project, metric="views", window="7d").snapshot is None


def test_agency_leaderboard_merges_visible_projects_latest_snapshots():
    a, b, hidden = ProjectFactory(name="A"), ProjectFactory(name="B"), ProjectFactory(name="C")
    old = timezone.now() - dt.timedelta(days=1)
    LeaderboardSnapshotFactory(project=a, fetched_at=old, items=[item(1, "stale", 10_000)])
    LeaderboardSnapshotFactory(project=a, items=[item(1, "a1", 500), item(2, "a2", 100)])
    LeaderboardSnapshotFactory(project=b, items=[item(1, "b1", 300), item(2, "b2", None)])
    LeaderboardSnapshotFactory(project=hidden, items=[item(1, "h1", 99_999)])
    visible = Project.objects.filter(pk__in=[a.pk, b.pk])
    rows = leaderboard_agency(projects=visible, metric="views", window="30d", limit=2)
    assert [(r.ads_content_id, r.project.name, r.rank) for r in rows] == [
        ("a1", "A", 1),
        ("b1", "B", 2),
    ]
    rows = leaderboard_agency(projects=visible, metric="views", window="30d", limit=10)
    assert [r.ads_content_id for r in rows] == ["a1", "b1", "a2"]  # no value: not ranked


def test_appearances_in_the_latest_snapshots():
    project = ProjectFactory()
    creative = AdsContentFactory(project=project, layers_id="me")
    LeaderboardSnapshotFactory(project=project, items=[item(1, "x", 9), item(2, "me", 5)])
    LeaderboardSnapshotFactory(project=project, metric="roas", items=[item(1, "x", 9)])
    LeaderboardSnapshotFactory(
        project=project,
        metric="roas",
        fetched_at=timezone.now() - dt.timedelta(days=2),
        items=[item(1, "me", 9)],
    )
    found = creative_leaderboard_appearances(ads_content=creative)
    assert [(a.snapshot.metric, a.rank, a.metric_value) for a in found] == [("views", 2, 5)]
    assert found[0].query == "metric=views&window=30d"


def test_a_synced_leaderboard_is_confirmed_by_a_later_sync(settings):
    settings.LAYERS_LEADERBOARDS = ["views:30d"]
    now = timezone.now()
    project = ProjectFactory(last_sync_ok_at=now)
    LeaderboardSnapshotFactory(
        project=project, fetched_at=now - dt.timedelta(hours=5), items=[item(1, "a", 9)]
    )
    LeaderboardSnapshotFactory(
        project=project, metric="roas", fetched_at=now - dt.timedelta(hours=5), items=[]
    )
    assert leaderboard_get(project=project, metric="views", window="30d").confirmed_at == now
    assert leaderboard_get(project=project, metric="roas", window="30d").confirmed_at is None
