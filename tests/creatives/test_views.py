"""Creative pages: gallery, scored creatives, one creative, leaderboards, CSV exports.

Each URL answers a full page and, for htmx, its fragment (with ``Vary: HX-Request``); another
account manager's project is 404 everywhere; nonsense input gives a message, never a 500; the
number of SQL queries per page does not grow with the number of rows.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from creatives.models import OverrideAudit
from creatives.selectors import cursor_encode
from tests.conftest import HX, grant, html
from tests.factories import (
    BASE_TIME,
    AdsContentFactory,
    ContentContainerFactory,
    LeaderboardSnapshotFactory,
    ProjectFactory,
    ScoreSampleFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def item(rank, ads_id, value, **extra):
    return {
        "rank": rank,
        "adsContentId": ads_id,
        "sourceType": "content_container",
        "title": f"Creative {ads_id}",
        "thumbnailUrl": f"https://media.example/{ads_id}.jpg",
        "metricValue": value,
        "organic": {"views": 148200, "engagementRate": 0.061, "platforms": ["tiktok"]},
        "paid": {"spend": 412.0, "conversions": 88, "roas": 5.2, "cpa": 4.68},
        **extra,
    }


def page_urls(project, creative) -> dict[str, str]:
    base = f"/projects/{project.layers_id}"
    return {
        "gallery": f"{base}/gallery/",
        "leaderboard": f"{base}/leaderboard/",
        "creatives": f"{base}/creatives/",
        "creative": f"{base}/creatives/{creative.layers_id}/",
        "agency": "/leaderboard/",
    }


FRAGMENT_IDS = {
    "gallery": 'id="gallery-results"',
    "leaderboard": 'id="leaderboard-results"',
    "creatives": 'id="creative-results"',
    "creative": 'id="creative-detail"',
    "agency": 'id="agency-results"',
}


@pytest.fixture
def creative(project):
    container = ContentContainerFactory(project=project, caption="A <b>caption</b>")
    row = AdsContentFactory(
        project=project, container=container, title="Latte <script>alert(1)</script>"
    )
    LeaderboardSnapshotFactory(project=project, items=[item(1, row.layers_id, 148200)])
    return row


@pytest.mark.parametrize("name", list(FRAGMENT_IDS))
def test_full_page_and_htmx_fragment(client, project, creative, name):
    url = page_urls(project, creative)[name]
    full = client.get(url)
    assert full.status_code == 200 and "HX-Request" in full["Vary"]
    assert "<html" in html(full) and FRAGMENT_IDS[name] in html(full)
    fragment = client.get(url, **HX)
    assert fragment.status_code == 200 and "HX-Request" in fragment["Vary"]
    assert "<html" not in html(fragment) and "site-header" not in html(fragment)
    assert FRAGMENT_IDS[name] in html(fragment)
    # API text is escaped, never trusted.
    for response in (full, fragment):
        assert "<script>alert(1)</script>" not in html(response)
        assert "<b>caption</b>" not in html(response)


@pytest.mark.parametrize("name", list(FRAGMENT_IDS))
def test_anonymous_goes_to_login(client, name):
    project = ProjectFactory()
    url = page_urls(project, AdsContentFactory(project=project))[name]
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_another_managers_project_is_404_on_pages_fragments_and_posts(client, manager):
    theirs = ProjectFactory()
    theirs.account_managers.add(UserFactory(username="other"))
    row = AdsContentFactory(project=theirs)
    grant(manager, "change_override")
    base = f"/projects/{theirs.layers_id}"
    gets = [
        f"{base}/",
        f"{base}/gallery/",
        f"{base}/leaderboard/",
        f"{base}/leaderboard/export.csv",
        f"{base}/creatives/",
        f"{base}/creatives/export.csv",
        f"{base}/creatives/{row.layers_id}/",
        f"{base}/gallery/?cursor=abc",
    ]
    for url in gets:
        assert client.get(url).status_code == 404, url
        assert client.get(url, **HX).status_code == 404, url
    posts = [f"{base}/creatives/{row.layers_id}/override/", f"{base}/leaderboard/refresh/"]
    for url in posts:
        for headers in ({}, HX):
            response = client.post(url, {"override": "exclude", "metric": "views"}, **headers)
            assert response.status_code == 404, url
    assert not OverrideAudit.objects.exists()


def test_gone_creatives_and_unknown_ids_are_404(client, project):
    gone = AdsContentFactory(project=project, is_gone=True)
    base = f"/projects/{project.layers_id}/creatives"
    assert client.get(f"{base}/{gone.layers_id}/").status_code == 404
    assert client.get(f"{base}/nope/").status_code == 404
    assert client.get(f"{base}/{'x' * 80}/").status_code == 404
    assert client.get(f"{base}/a%00b/").status_code == 404
    assert client.get(f"/projects/{project.layers_id}%00/").status_code == 404
    assert client.get(f"/projects/{project.layers_id}%00/gallery/").status_code == 404


def test_agency_leaderboard_shows_only_visible_projects(client, manager, project, creative):
    hidden = ProjectFactory(name="Hidden Co")
    LeaderboardSnapshotFactory(project=hidden, items=[item(1, "zzz", 9_999_999)])
    page = html(client.get("/leaderboard/"))
    assert "Bluebird Fitness" in page and "Hidden Co" not in page
    grant(manager, "view_all_projects")
    assert "Hidden Co" in html(client.get("/leaderboard/"))


# --- gallery ------------------------------------------------------------------------------------


def test_gallery_renders_previews_by_kind(client, project):
    ContentContainerFactory(
        project=project,
        preview_kind="slideshow",
        image_urls=["https://m.example/1.jpg", "https://m.example/2.jpg"],
    )
    ContentContainerFactory(
        project=project,
        preview_kind="video",
        thumbnail_url="https://m.example/poster.jpg",
        video_url="https://m.example/v.mp4",
        duration_ms=245_000,
    )
    ContentContainerFactory(
        project=project, preview_kind="image", preview_url="https://m.example/i.jpg"
    )
    ContentContainerFactory(
        project=project, status="processing", preview_kind="", preview_url="", thumbnail_url=""
    )
    page = html(client.get(f"/projects/{project.layers_id}/gallery/"))
    assert 'src="https://m.example/1.jpg"' in page and 'src="https://m.example/2.jpg"' in page
    assert "2 slides" in page
    assert 'src="https://m.example/poster.jpg"' in page and "▶ 4 min 5 s" in page
    assert 'src="https://m.example/i.jpg"' in page
    assert "Processing…" in page


def test_gallery_filters_in_the_url_and_load_more(client, project):
    for index in range(30):
        ContentContainerFactory(
            project=project,
            status="completed" if index % 2 else "failed",
            format="video-remix" if index % 3 == 0 else "slideshow-builder",
        )
    base = f"/projects/{project.layers_id}/gallery/"
    page = html(client.get(f"{base}?status=completed"))
    assert "15 containers (filtered)" in page
    assert page.count('class="tile"') == 15 and "Load more" not in page
    page = html(client.get(base))
    assert page.count('class="tile"') == 24
    next_url = re.search(r'hx-get="(\?cursor=[^"]+)"', page).group(1).replace("&amp;", "&")
    more = client.get(base + next_url, **HX)
    assert "<html" not in html(more) and html(more).count('class="tile"') == 6
    assert "Load more" not in html(more) and 'id="gallery-results"' not in html(more)
    # Without JavaScript the same link is a full page starting after the cursor.
    assert html(client.get(base + next_url)).count('class="tile"') == 6
    page = html(client.get(f"{base}?status=completed&status=failed&format=video-remix"))
    assert "10 containers" in page


def test_gallery_dates_are_local_to_the_project(client, project):
    # 2026-10-01 05:30 UTC is still 30 September in Denver (UTC-6).
    ContentContainerFactory(
        project=project, created_at=dt.datetime(2026, 10, 1, 5, 30, tzinfo=dt.UTC)
    )
    base = f"/projects/{project.layers_id}/gallery/"
    assert "30 Sep 2026, 23:30" in html(client.get(base))
    assert "1 container" in html(client.get(f"{base}?since=2026-09-30&until=2026-09-30"))
    assert "No content matches" in html(client.get(f"{base}?since=2026-10-01"))


def test_gallery_empty_state(client, project):
    assert "No content yet" in html(client.get(f"/projects/{project.layers_id}/gallery/"))


@pytest.mark.parametrize(
    "query",
    [
        "since=notadate",
        "until=2026-13-45",
        "since=0001-01-01",
        "since=2026-10-02&until=2026-10-01",
        "status=bogus",
        "format=%00",
        "creativeType=%F0%9F%92%A9",
        "cursor=garbage",
        "cursor=" + "A" * 600,
        "cursor=" + cursor_encode({"t": "2026-01-01T00:00:00+00:00", "i": "x" * 70}),
    ],
)
def test_gallery_nonsense_gives_a_message(client, project, query):
    ContentContainerFactory(project=project)
    for headers in ({}, HX):
        response = client.get(f"/projects/{project.layers_id}/gallery/?{query}", **headers)
        assert response.status_code == 200
        assert "Some filters were ignored" in html(response)


def test_a_bad_cursor_on_load_more_does_not_repeat_the_first_page(client, project):
    ContentContainerFactory.create_batch(3, project=project)
    response = client.get(f"/projects/{project.layers_id}/gallery/?cursor=garbage", **HX)
    assert response.status_code == 200 and 'class="tile"' not in html(response)
    assert "not valid" in html(response)


# --- scored creatives ---------------------------------------------------------------------------


def test_creatives_table_and_watchlists(client, project):
    AdsContentFactory(project=project, override="include", organic_score=3.0, title="Kept low")
    AdsContentFactory(
        project=project,
        override="exclude",
        organic_score=8.0,
        title="Pulled high",
        override_note="Legal <flagged> it",
        override_set_by="lp_test_ABC (key_1)",
        override_set_at=BASE_TIME,
        active_promotions=[{"platform": "tiktok_ads", "campaignId": "c", "adId": "1"}],
    )
    AdsContentFactory(project=project, organic_score=6.0, title="Plain")
    base = f"/projects/{project.layers_id}/creatives/"
    page = html(client.get(base))
    assert "Included but scoring under 4.0" in page and "Excluded but scoring 4.0 or more" in page
    assert "Legal &lt;flagged&gt; it" in page and "lp_test_ABC" in page and "tiktok_ads" in page
    assert "1 Oct 2026, 06:00" in page  # overrideSetAt in America/Denver
    assert "<polyline points=" in page
    watch = html(client.get(f"{base}?watch=included_low", **HX))
    assert "Kept low" in watch and "Pulled high" not in watch and "Plain" not in watch
    watch = html(client.get(f"{base}?watch=excluded_high", **HX))
    assert "Pulled high" in watch and "Kept low" not in watch
    filtered = html(client.get(f"{base}?minScore=5&eligible=yes&sort=score_asc", **HX))
    assert "Plain" in filtered and "Pulled high" not in filtered and "Kept low" not in filtered


def test_override_controls_need_the_permission(client, manager, project):
    AdsContentFactory(project=project)
    base = f"/projects/{project.layers_id}/creatives/"
    page = html(client.get(base))
    assert "data-override=" not in page and "not change them" in page
    assert 'id="override-dialog"' not in page and 'id="bulk-form"' not in page
    grant(manager, "change_override")
    page = html(client.get(base))
    # One row's buttons, and the page's one override form (issue 16: no form per row).
    assert (
        page.count('data-override="include"') == 1
        and page.count('<dialog id="override-dialog"') == 1
    )
    assert 'hx-sync="this:drop"' in page and 'hx-disabled-elt="find button"' in page
    assert 'data-max="280"' in page and 'name="form_token"' in page


def test_creatives_load_more_pages_through_everything(client, project):
    for index in range(120):
        AdsContentFactory(project=project, organic_score=[2.0, 5.0, 8.0][index % 3])
    base = f"/projects/{project.layers_id}/creatives/"
    page = html(client.get(base))
    seen = re.findall(r'<tr id="creative-(\d+)"', page)
    while True:
        found = re.search(r'hx-get="(\?[^"]*cursor=[^"]+)"', page)
        if not found:
            break
        page = html(client.get(base + found.group(1).replace("&amp;", "&"), **HX))
        assert "<html" not in page and 'id="creative-results"' not in page
        seen += re.findall(r'<tr id="creative-(\d+)"', page)
    assert len(seen) == 120 and len(set(seen)) == 120


@pytest.mark.parametrize(
    "query",
    [
        "minScore=abc",
        "minScore=nan",
        "minScore=1e400",
        "minScore=-1",
        "minScore=11",
        "eligible=maybe",
        "override=whatever",
        "pool=%00",
        "sort=random",
        "watch=%E2%98%83",
        "cursor=garbage",
        "cursor=" + cursor_encode({"s": "score_asc", "v": 1, "i": "x"}),
    ],
)
def test_creatives_nonsense_gives_a_message(client, project, query):
    AdsContentFactory(project=project)
    for headers in ({}, HX):
        response = client.get(f"/projects/{project.layers_id}/creatives/?{query}", **headers)
        assert response.status_code == 200
        assert "Some filters were ignored" in html(response)


def test_creatives_csv_export_is_the_filtered_table(client, project):
    AdsContentFactory(project=project, organic_score=9.0, title='=HYPERLINK("evil")')
    AdsContentFactory(project=project, organic_score=1.0, title="Low")
    for index in range(60):
        AdsContentFactory(project=project, organic_score=6.0, title=f"Mid {index}")
    response = client.get(f"/projects/{project.layers_id}/creatives/export.csv?minScore=5")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:3] == ["adsContentId", "title", "sourceType"]
    titles = [r[1] for r in rows[1:]]
    assert len(titles) == 61 and "Low" not in titles  # every page, as filtered
    assert titles[0] == '\'=HYPERLINK("evil")'  # never a live formula


# --- one creative -------------------------------------------------------------------------------


def test_creative_detail_shows_history_chart_and_appearances(client, manager, project, creative):
    for hours, score in ((48, 3.5), (24, 4.5), (0, 6.0)):
        ScoreSampleFactory(
            ads_content=creative,
            score=score,
            observed_at=timezone.now() - dt.timedelta(hours=hours),
        )
    OverrideAudit.objects.create(
        user=manager,
        project=project,
        ads_content=creative,
        after_override="exclude",
        note="Music rights",
        idempotency_key="k1",
        outcome="failed",
        error_code="CONFLICT",
        request_id="req_123",
    )
    page = html(client.get(f"/projects/{project.layers_id}/creatives/{creative.layers_id}/"))
    assert 'class="chart"' in page and "<polyline points=" in page
    assert "Music rights" in page and "CONFLICT" in page and "req_123" in page
    assert "Leaderboard appearances" in page and "#1" in page and "148.2K" in page
    assert "A &lt;b&gt;caption&lt;/b&gt;" in page  # the container's caption, escaped


# --- leaderboards -------------------------------------------------------------------------------


def test_leaderboard_renders_the_stored_snapshot_as_people_read_it(client, project):
    AdsContentFactory(project=project, layers_id="a")
    now = timezone.now()
    LeaderboardSnapshotFactory(
        project=project,
        metric="roas",
        fetched_at=now - dt.timedelta(hours=3),
        items=[item(1, "a", 4.0), item(2, "b", 3.0)],
    )
    LeaderboardSnapshotFactory(
        project=project,
        metric="roas",
        fetched_at=now - dt.timedelta(minutes=12),
        items=[item(1, "b", 5.2), item(2, "a", 2.6), item(3, "c", 1.3, paid=None)],
    )
    page = html(client.get(f"/projects/{project.layers_id}/leaderboard/?metric=roas", **HX))
    assert "5.2×" in page and "2.6×" in page
    assert "▲1" in page and "▼1" in page and ">new<" in page
    assert "12 min ago" in page and "6.1 %" in page
    # A compacted count keeps its full number for hover, focus and touch (layersadmin.formatting).
    assert '<abbr class="count" tabindex="0" title="148,200 views">148.2K</abbr> views' in page
    assert '<rect class="meter-fill" width="100.0"' in page
    assert '<rect class="meter-fill" width="50.0"' in page
    assert f'href="/projects/{project.layers_id}/creatives/a/"' in page  # a known creative
    assert f'href="/projects/{project.layers_id}/creatives/b/"' not in page
    assert "Refresh from Layers" in page and "Export CSV" in page


def test_leaderboard_controls_show_what_is_in_use(client, project):
    page = html(client.get(f"/projects/{project.layers_id}/leaderboard/?window=bogus&limit=abc"))
    assert "Some filters were ignored" in page
    assert '<option value="30d" selected>' in page  # the default actually used
    assert 'name="limit" value="25"' in page
    assert "No stored snapshot for these controls" in page


@pytest.mark.parametrize(
    "query",
    [
        "metric=bogus",
        "window=1y",
        "limit=0",
        "limit=101",
        "limit=99999999999999999999999",
        "sourceType=evil",
        "platform=%00",
        "includeIneligible=%F0%9F%92%A9&metric=%00",
    ],
)
def test_leaderboard_nonsense_gives_a_message(client, project, query):
    for url in (f"/projects/{project.layers_id}/leaderboard/?{query}", f"/leaderboard/?{query}"):
        response = client.get(url)
        if "Some filters were ignored" not in html(response):  # agency has fewer controls
            assert url.startswith("/leaderboard/") and response.status_code == 200
        else:
            assert response.status_code == 200


def test_leaderboard_csv_is_the_board_as_shown(client, project):
    LeaderboardSnapshotFactory(
        project=project,
        metric="engagement_rate",
        items=[item(i, f"id{i}", round(0.1 - i / 100, 4)) for i in range(1, 26)],
    )
    response = client.get(
        f"/projects/{project.layers_id}/leaderboard/export.csv?metric=engagement_rate&limit=5"
    )
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][0] == "rank" and len(rows) == 6
    # rank, movement and metric change (no earlier snapshot: none), the creative, the metric
    assert rows[1][:8] == ["1", "", "", "Creative id1", "id1", "content_container", "0.09", "9.0 %"]
    agency = client.get("/leaderboard/export.csv?metric=engagement_rate")
    rows = list(csv.reader(io.StringIO(agency.content.decode())))
    assert rows[0][:7] == [
        "rank", "title", "adsContentId", "sourceType", "project", "projectId", "projectRank"
    ]  # fmt: skip
    assert rows[1][4] == "Bluebird Fitness"


# --- SQL queries per page -----------------------------------------------------------------------


def populate(project, n: int, user) -> None:
    ids = []
    for index in range(n):
        container = ContentContainerFactory(project=project)
        creative = AdsContentFactory(
            project=project,
            container=container,
            organic_score=index % 10,
            override=["", "include", "exclude"][index % 3],
            active_promotions=[{"platform": "meta_ads"}],
        )
        ids.append(creative.layers_id)
        ScoreSampleFactory.create_batch(2, ads_content=creative)
        OverrideAudit.objects.create(
            user=user,
            project=project,
            ads_content=creative,
            after_override=creative.override,
            idempotency_key=f"k{creative.pk}",
            outcome="succeeded",
        )
    items = [item(rank, ads_id, 1000 - rank) for rank, ads_id in enumerate(ids[:25], start=1)]
    LeaderboardSnapshotFactory(project=project, items=items)
    LeaderboardSnapshotFactory(project=project, items=items[::-1])


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
        assert response.status_code == 200
        if hasattr(response, "streaming_content"):
            b"".join(response.streaming_content)
    return len(queries)


def test_queries_per_page_stay_constant_as_rows_grow(
    client, manager, project, django_assert_max_num_queries
):
    grant(manager, "view_all_projects", "change_override")
    populate(project, 3, manager)
    creative = project.ads_contents.first()
    urls = list(page_urls(project, creative).values()) + [
        f"/projects/{project.layers_id}/creatives/?sort=scored_at_desc&minScore=1",
        f"/projects/{project.layers_id}/gallery/?status=completed",
        f"/projects/{project.layers_id}/creatives/export.csv",
        f"/projects/{project.layers_id}/leaderboard/export.csv",
    ]
    client.get("/healthz")  # the session's renewal (once a minute) is not the page's
    for url in urls:  # the first view of a board records its demand (once a minute at most)
        client.get(url)
    small = [count_queries(client, url) for url in urls]
    populate(project, 70, manager)  # more than a page of everything
    for _ in range(3):
        populate(ProjectFactory(), 5, manager)
    ScoreSampleFactory.create_batch(5, ads_content=creative)
    large = [count_queries(client, url) for url in urls]
    assert large == small, list(zip(urls, small, large, strict=True))
    for url, most in zip(urls, small, strict=True):
        # 14, and 2 for the "Saved views" control of a page with filters (the person's views
        # of the page and their teams: layersadmin.saved_views).
        assert most <= 16, url
        with django_assert_max_num_queries(most):
            client.get(url)


NASTY = ["%00", "x" * 3000, "%F0%9F%92%A9%E2%80%AE", "-1e309", "[]", "%27%22%3E%3Cscript%3E"]
PARAMS = {
    "gallery": ["status", "format", "creativeType", "since", "until", "cursor"],
    "creatives": ["pool", "override", "eligible", "minScore", "sort", "watch", "cursor"],
    "leaderboard": ["metric", "window", "sourceType", "platform", "limit", "includeIneligible"],
    "agency": ["metric", "window", "limit"],
}


def test_no_parameter_value_makes_a_500(client, project, creative):
    urls = page_urls(project, creative)
    urls["projects"] = "/"
    PARAMS["projects"] = ["q", "status"]
    for name, params in PARAMS.items():
        for param in params:
            for value in NASTY:
                for headers in ({}, HX):
                    response = client.get(f"{urls[name]}?{param}={value}", **headers)
                    assert response.status_code == 200, (name, param, value)
                    assert "<script>" not in html(response).split("</head>")[-1]


def test_pages_carry_nothing_a_strict_csp_blocks_and_every_hx_get_has_a_real_link(
    client, manager, project, creative
):
    grant(manager, "change_override")
    ContentContainerFactory.create_batch(30, project=project)
    AdsContentFactory.create_batch(55, project=project)
    urls = list(page_urls(project, creative).values()) + ["/", f"/projects/{project.layers_id}/"]
    for url in urls:
        page = html(client.get(url))
        assert ' style="' not in page and "<style" not in page, url
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page), url
        assert "hx-on" not in page and "javascript:" not in page, url
        for tag in re.findall(r"<(?:a|form|button)\b[^>]*\bhx-(?:get|post)=[^>]*>", page):
            if tag.startswith("<a"):
                assert re.search(r'\bhref="[^"#]', tag), tag
            elif tag.startswith("<form"):
                assert re.search(r'\baction="[^"]+"', tag) and "method=" in tag, tag
        for form in re.findall(r'<form\b[^>]*method="post"[^>]*>.*?</form>', page, re.S):
            assert "csrfmiddlewaretoken" in form, url


def test_a_signed_out_htmx_request_sends_the_browser_to_login(client):
    project = ProjectFactory()
    response = client.get(
        f"/projects/{project.layers_id}/creatives/?minScore=4",
        HTTP_HX_CURRENT_URL=f"http://testserver/projects/{project.layers_id}/creatives/",
        **HX,
    )
    assert response.status_code == 200
    assert response["HX-Redirect"] == (
        f"/accounts/login/?next=%2Fprojects%2F{project.layers_id}%2Fcreatives%2F"
    )
    assert response.content == b""
