"""Project list and overview pages: full page and htmx fragment, access, bad input, queries."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from creatives.counts import project_counts_refresh
from creatives.models import OverrideAudit
from tests.conftest import HX, grant, html
from tests.factories import (
    AdsContentFactory,
    ContentContainerFactory,
    LeaderboardSnapshotFactory,
    ProjectFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def test_anonymous_goes_to_login(client):
    project = ProjectFactory()
    for url in ("/", f"/projects/{project.layers_id}/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_list_full_page_and_fragment(client, project):
    full = client.get("/")
    assert full.status_code == 200 and "HX-Request" in full["Vary"]
    assert "<html" in html(full) and "Bluebird Fitness" in html(full)
    assert 'hx-push-url="true"' in html(full)
    fragment = client.get("/", **HX)
    assert fragment.status_code == 200 and "HX-Request" in fragment["Vary"]
    assert "<html" not in html(fragment) and 'id="project-results"' in html(fragment)
    assert "Bluebird Fitness" in html(fragment)
    assert 'name="q"' not in html(fragment)  # the form stays on the page, only results swap


def test_a_history_restore_gets_the_whole_page(client, project):
    response = client.get("/", HTTP_HX_HISTORY_RESTORE_REQUEST="true", **HX)
    assert "<html" in html(response)


def test_list_shows_only_assigned_projects_to_a_manager(client, manager, project):
    ProjectFactory(name="Someone Else's")
    assert "Someone Else" not in html(client.get("/"))
    grant(manager, "view_all_projects")
    assert "Someone Else" in html(client.get("/"))


def test_list_counts_top_creative_and_freshness(client, project, settings):
    settings.LAYERS_STALE_AFTER_MINUTES = 90
    ContentContainerFactory.create_batch(3, project=project)
    AdsContentFactory(project=project, organic_score=7.25, title="The <winner>")
    AdsContentFactory(project=project, organic_score=1.0)
    project.last_sync_ok_at = timezone.now() - dt.timedelta(minutes=12)
    project.save()
    project_counts_refresh(project=project)  # as the sync does after writing the rows
    page = html(client.get("/"))
    assert "synced 12 min ago" in page and "badge-ok" in page
    assert "The &lt;winner&gt;" in page and "score 7.2" in page  # escaped API text
    project.last_sync_error = "UNAVAILABLE: no answer"
    project.save()
    page = html(client.get("/"))
    assert "sync failed" in page and "badge-bad" in page


def test_search_and_status_filter(client, manager, project):
    other = ProjectFactory(name="Cobalt Yoga", customer_external_id="cobalt-77", status="archived")
    other.account_managers.add(manager)
    assert "Bluebird" not in html(client.get("/?q=cobalt-7", **HX))
    assert "Cobalt Yoga" in html(client.get("/?q=cobalt-7", **HX))
    page = html(client.get("/?status=archived", **HX))
    assert "Cobalt Yoga" in page and "Bluebird" not in page
    assert "No project matches" in html(client.get("/?q=zzz", **HX))


@pytest.mark.parametrize(
    "query",
    [
        "status=nonsense",
        "q=" + "x" * 201,
        "q=%00",
        "status=%00%00",
        "q=%F0%9F%92%A9&status=%E2%98%83",
    ],
)
def test_nonsense_filters_give_a_message_not_a_500(client, project, query):
    response = client.get(f"/?{query}")
    assert response.status_code == 200
    assert "Some filters were ignored" in html(response)


def test_overview_full_page_and_fragment(client, project):
    AdsContentFactory(project=project, title="Top one", organic_score=8.0)
    LeaderboardSnapshotFactory(project=project, metric="roas", window="7d")
    full = client.get(f"/projects/{project.layers_id}/")
    page = html(full)
    assert full.status_code == 200 and "HX-Request" in full["Vary"]
    for link in ("gallery/", "leaderboard/", "creatives/"):
        assert f'href="/projects/{project.layers_id}/{link}' in page
    assert "Top one" in page and "ROAS" in page and 'aria-current="page">Overview' in page
    fragment = client.get(f"/projects/{project.layers_id}/", **HX)
    assert "<html" not in html(fragment) and 'id="overview"' in html(fragment)


def test_overview_dates_are_in_the_projects_timezone(client, project):
    project.last_sync_ok_at = dt.datetime(2026, 10, 1, 12, 0, tzinfo=dt.UTC)
    project.save()
    page = html(client.get(f"/projects/{project.layers_id}/"))
    assert "1 Oct 2026, 06:00 MDT" in page  # 12:00 UTC in America/Denver
    fragment = html(client.get(f"/projects/{project.layers_id}/", **HX))
    assert "1 Oct 2026, 06:00 MDT" in fragment


def test_another_managers_project_is_404(client, manager):
    theirs = ProjectFactory()
    theirs.account_managers.add(UserFactory(username="other"))
    assert client.get(f"/projects/{theirs.layers_id}/").status_code == 404
    assert client.get(f"/projects/{theirs.layers_id}/", **HX).status_code == 404
    assert client.get("/projects/prj_does-not-exist/").status_code == 404


def populate(project, n: int, user) -> None:
    containers = ContentContainerFactory.create_batch(n, project=project)
    for index, container in enumerate(containers):
        creative = AdsContentFactory(
            project=project, container=container, organic_score=index % 10, override="include"
        )
        OverrideAudit.objects.create(
            user=user,
            project=project,
            ads_content=creative,
            after_override="include",
            idempotency_key=f"k{index}",
            outcome="succeeded",
        )
    LeaderboardSnapshotFactory(project=project)


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_queries_stay_constant_as_rows_grow(
    client, manager, project, django_assert_max_num_queries
):
    grant(manager, "view_all_projects")
    populate(project, 2, manager)
    urls = ["/", f"/projects/{project.layers_id}/"]
    client.get("/healthz")  # the session's renewal (once a minute) is not the page's
    small = [count_queries(client, url) for url in urls]
    for _ in range(4):
        populate(ProjectFactory(), 3, manager)
    populate(project, 30, manager)
    large = [count_queries(client, url) for url in urls]
    assert large == small
    for url, most in zip(urls, small, strict=True):
        with django_assert_max_num_queries(most):
            client.get(url)
