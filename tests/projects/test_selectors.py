"""Project selectors: who sees which project, the project list's search and counts, freshness."""

from __future__ import annotations

import datetime as dt

import pytest
from django.http import Http404
from django.utils import timezone

from creatives.selectors import project_stats
from projects.selectors import (
    project_for_user,
    project_freshness,
    project_list,
    project_zone,
    projects_visible_to,
)
from tests.conftest import grant
from tests.factories import (
    AdsContentFactory,
    ProjectFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager():
    return UserFactory(username="manager")


def test_an_account_manager_sees_only_assigned_projects(manager):
    mine, _other = ProjectFactory(), ProjectFactory()
    mine.account_managers.add(manager)
    assert list(projects_visible_to(manager)) == [mine]
    assert project_for_user(manager, mine.layers_id) == mine


def test_view_all_permission_and_superusers_see_every_project(manager):
    projects = {ProjectFactory(), ProjectFactory()}
    grant(manager, "view_all_projects")
    assert set(projects_visible_to(manager)) == projects
    admin = UserFactory(username="root", is_superuser=True)
    assert set(projects_visible_to(admin)) == projects


def test_gone_and_inactive_are_hidden(manager):
    gone = ProjectFactory(is_gone=True)
    gone.account_managers.add(manager)
    assert not projects_visible_to(manager).exists()
    with pytest.raises(Http404):
        project_for_user(manager, gone.layers_id)
    live = ProjectFactory()
    live.account_managers.add(manager)
    manager.is_active = False
    assert not projects_visible_to(manager).exists()


@pytest.mark.parametrize("project_id", ["prj_unknown", "", "x" * 65, "prj_\x00"])
def test_unknown_or_nonsense_ids_are_404(manager, project_id):
    grant(manager, "view_all_projects")
    with pytest.raises(Http404):
        project_for_user(manager, project_id)


def test_another_managers_project_is_404(manager):
    theirs = ProjectFactory()
    theirs.account_managers.add(UserFactory(username="someone-else"))
    with pytest.raises(Http404):
        project_for_user(manager, theirs.layers_id)


def test_search_by_name_or_customer_id_and_filter_by_status(manager):
    grant(manager, "view_all_projects")
    a = ProjectFactory(name="Bluebird Fitness", customer_external_id="bb-1")
    b = ProjectFactory(name="Cobalt Yoga", customer_external_id="cobalt-77", status="archived")
    assert list(project_list(user=manager, q="bluebird")) == [a]
    assert list(project_list(user=manager, q="COBALT-7")) == [b]
    assert list(project_list(user=manager, status="archived")) == [b]
    assert list(project_list(user=manager)) == [a, b]  # by name
    assert list(project_list(user=manager, q="nothing like it")) == []


def test_project_stats_count_watchlists():
    project = ProjectFactory()
    AdsContentFactory(project=project, override="include", organic_score=3.9)
    AdsContentFactory(project=project, override="include", organic_score=4.0)
    AdsContentFactory(project=project, override="exclude", organic_score=4.0)
    AdsContentFactory(project=project, override="exclude", organic_score=2.0)
    AdsContentFactory(project=project, override="exclude", organic_score=7.0, is_gone=True)
    AdsContentFactory(project=project)
    stats = project_stats(project=project)
    assert (stats.scored_count, stats.override_count) == (5, 4)
    assert (stats.included_low, stats.excluded_high) == (1, 1)
    assert stats.eligible_count == 3


def test_freshness(settings):
    settings.LAYERS_STALE_AFTER_MINUTES = 90
    now = timezone.now()
    fresh = ProjectFactory.build(last_sync_ok_at=now - dt.timedelta(minutes=89))
    stale = ProjectFactory.build(last_sync_ok_at=now - dt.timedelta(minutes=91))
    failed = ProjectFactory.build(last_sync_ok_at=now, last_sync_error="UNAVAILABLE: down")
    never = ProjectFactory.build(last_sync_ok_at=None)
    archived = ProjectFactory.build(last_sync_ok_at=now - dt.timedelta(days=30), status="archived")
    states = [project_freshness(p, now=now) for p in (fresh, stale, failed, never, archived)]
    assert [s.state for s in states] == ["ok", "stale", "failed", "never", "archived"]
    assert [s.is_bad for s in states] == [False, True, True, True, False]
    assert states[2].error == "UNAVAILABLE: down"


def test_an_unknown_timezone_falls_back_to_utc():
    assert str(project_zone(ProjectFactory.build(timezone="America/Denver"))) == "America/Denver"
    assert str(project_zone(ProjectFactory.build(timezone="Mars/Olympus"))) == "UTC"
    assert str(project_zone(ProjectFactory.build(timezone="../../etc/passwd"))) == "UTC"
    assert str(project_zone(ProjectFactory.build(timezone=""))) == "UTC"
