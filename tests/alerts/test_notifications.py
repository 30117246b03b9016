"""Who is told (their own projects, followed rules, not muted), the bell, the notifications
page and its mark-read, the settings page, and the creatives table's ``ids`` filter."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alerts import vocabulary as v
from alerts.models import Alert, AlertPreference, Notification, ProjectMute
from alerts.services import alerts_evaluate_creatives, project_mute_set
from tests.conftest import HX, html
from tests.factories import AdsContentFactory, ProjectFactory, UserFactory

pytestmark = pytest.mark.django_db


def raise_low(project, *, title: str = "Low one") -> Alert:
    """An included creative under the gate, and the evaluation that raises it."""
    creative = AdsContentFactory(
        project=project, override="include", organic_score=2.5, title=title
    )
    alerts_evaluate_creatives(project=project)
    return Alert.objects.get(ads_content=creative)


# --- who is told --------------------------------------------------------------------------------


def test_managers_of_the_project_are_told_once(manager, project):
    colleague = UserFactory()
    project.account_managers.add(colleague)
    outsider = UserFactory()  # manages another project
    ProjectFactory().account_managers.add(outsider)
    alert = raise_low(project)
    told = set(Notification.objects.filter(alert=alert).values_list("user_id", flat=True))
    assert told == {manager.pk, colleague.pk}
    alerts_evaluate_creatives(project=project)  # still open: nobody is told again
    assert Notification.objects.count() == 2


def test_a_rule_not_followed_tells_nobody(manager, project):
    AlertPreference.objects.create(user=manager, ignored_rules=[v.INCLUDED_LOW])
    alert = raise_low(project)
    assert not Notification.objects.filter(alert=alert).exists()
    # Another rule it still follows.
    AdsContentFactory(project=project, override="exclude", organic_score=8.0)
    alerts_evaluate_creatives(project=project)
    assert Notification.objects.filter(user=manager, alert__rule=v.EXCLUDED_HIGH).count() == 1


def test_a_muted_project_tells_nobody_until_the_mute_ends(manager, project):
    project_mute_set(user=manager, project=project, days="7")
    raise_low(project, title="first")
    assert not Notification.objects.exists()
    ProjectMute.objects.update(until=timezone.now() - dt.timedelta(minutes=1))  # ended
    raise_low(project, title="second")
    assert Notification.objects.filter(user=manager).count() == 1


# --- the bell and the notifications page --------------------------------------------------------


def test_the_bell_counts_unread_in_one_query(client, manager, project):
    raise_low(project, title="a")
    raise_low(project, title="b")
    page = html(client.get("/"))
    assert 'aria-label="Notifications: 2 unread"' in page
    assert '<span class="bell-count" aria-hidden="true">2</span>' in page
    with CaptureQueriesContext(connection) as queries:
        client.get("/")
    bell = [q["sql"] for q in queries if "alerts_notification" in q["sql"]]
    assert len(bell) == 1 and "COUNT(" in bell[0].upper(), bell
    Notification.objects.update(read_at=timezone.now())
    assert "none unread" in html(client.get("/"))


def test_an_htmx_fragment_does_not_count(client, manager, project):
    raise_low(project)
    with CaptureQueriesContext(connection) as queries:
        client.get(f"/projects/{project.layers_id}/creatives/", **HX)
    assert not [q for q in queries if "alerts_notification" in q["sql"]]


def test_notifications_page_lists_newest_first_and_links_to_exactly_the_creative(
    client, manager, project
):
    older = raise_low(project, title="Older <b>one</b>")
    Notification.objects.update(created_at=timezone.now() - dt.timedelta(hours=1))
    newer = raise_low(project, title="Newer one")
    page = html(client.get("/notifications/"))
    assert page.index("Newer one") < page.index("Older &lt;b&gt;one&lt;/b&gt;")  # escaped
    link = f"/projects/{project.layers_id}/creatives/?ids={newer.ads_content.layers_id}"
    assert link in page
    assert f"?ids={older.ads_content.layers_id}" in page
    # Times in the project's zone (America/Denver in the fixture), saying which.
    assert "MDT" in page or "MST" in page


def test_notifications_are_paginated(client, manager, project):
    for i in range(27):
        raise_low(project, title=f"creative {i:02d}")
    first = html(client.get("/notifications/"))
    assert first.count('class="notification ') == 25 and "Page 1 of 2" in first
    second = html(client.get("/notifications/?page=2"))
    assert second.count('class="notification ') == 2
    assert client.get("/notifications/?page=x%00").status_code == 200  # bad page: page 1


def test_another_managers_alerts_are_not_shown(client, manager, project):
    other = ProjectFactory(name="Someone Else's")
    other_manager = UserFactory()
    other.account_managers.add(other_manager)
    raise_low(other, title="Not yours")
    assert "Not yours" not in html(client.get("/notifications/"))
    theirs = Notification.objects.get(user=other_manager)
    response = client.post("/notifications/read/", {"notification": theirs.pk})
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_mark_one_read_plain_and_htmx(client, manager, project):
    raise_low(project, title="a")
    raise_low(project, title="b")
    first, second = Notification.objects.filter(user=manager).order_by("id")
    response = client.post("/notifications/read/", {"notification": first.pk, "next": "/"})
    assert response.status_code == 302 and response["Location"] == "/"
    first.refresh_from_db()
    assert first.read_at is not None
    response = client.post("/notifications/read/", {"notification": second.pk}, **HX)
    assert response.status_code == 200
    fragment = html(response)
    assert fragment.lstrip().startswith("<section") or 'id="notifications"' in fragment
    assert 'id="bell"' in fragment and 'hx-swap-oob="true"' in fragment  # the bell, updated
    assert "none unread" in fragment
    assert "<html" not in fragment


def test_mark_all_read(client, manager, project):
    for i in range(3):
        raise_low(project, title=f"x{i}")
    response = client.post("/notifications/read/", {"all": "1"}, **HX)
    assert response.status_code == 200
    assert "3 notifications marked as read" in html(response)
    assert not Notification.objects.filter(read_at=None).exists()


def test_mark_read_bad_input(client, manager, project):
    raise_low(project)
    for data in ({}, {"notification": "x"}, {"notification": "-1"}, {"next": "//evil"}):
        response = client.post("/notifications/read/", data, **HX)
        assert response.status_code == 422, data
    assert client.post("/notifications/read/", {"all": "1", "next": "//evil.com"}).url == (
        "/notifications/"
    )
    assert client.get("/notifications/read/").status_code == 405


def test_signed_out_is_sent_to_sign_in(client, project):
    client.logout()
    assert client.get("/notifications/").status_code == 302
    assert client.get("/settings/alerts/").status_code == 302


# --- settings -----------------------------------------------------------------------------------


def test_settings_defaults_and_save(client, manager, project):
    page = html(client.get("/settings/alerts/"))
    assert page.count('name="rules"') == len(v.RULES) and page.count("checked") >= len(v.RULES)
    response = client.post(
        "/settings/alerts/",
        {"rules": [v.INCLUDED_LOW, v.SYNC_FAILING], "digest": "weekly", "timezone": "Europe/Paris"},
    )
    assert response.status_code == 302
    preference = AlertPreference.objects.get(user=manager)
    assert preference.followed_rules == [v.INCLUDED_LOW, v.SYNC_FAILING]
    assert (preference.digest, preference.timezone) == ("weekly", "Europe/Paris")
    assert preference.zone_for(project) == zoneinfo.ZoneInfo("Europe/Paris")
    assert v.SETTINGS_SAVED in html(client.get("/settings/alerts/"))


@pytest.mark.parametrize(
    "data, message",
    [
        ({"digest": "hourly"}, "Choose a digest"),
        ({"rules": ["nope"], "digest": "off"}, "Pick rules from the list"),
        ({"digest": "daily", "timezone": "Mars/Olympus"}, "Pick a timezone from the list"),
        ({"digest": "daily", "timezone": "x" * 300}, "at most 64"),
        ({"rules": [v.SCORE_DROP]}, "Choose a digest"),
    ],
)
def test_settings_bad_input_saves_nothing(client, manager, project, data, message):
    response = client.post("/settings/alerts/", data)
    assert response.status_code == 422
    assert message in html(response)
    assert "Nothing was saved" in html(response)
    assert not AlertPreference.objects.exists()


def test_mute_and_unmute(client, manager, project):
    response = client.post("/settings/alerts/mute/", {"project": project.layers_id, "days": "7"})
    assert response.status_code == 302
    mute = ProjectMute.objects.get(user=manager, project=project)
    assert dt.timedelta(days=6, hours=23) < mute.until - timezone.now() <= dt.timedelta(days=7)
    assert "muted until" in html(client.get("/settings/alerts/"))
    client.post("/settings/alerts/mute/", {"project": project.layers_id, "days": "0"})
    assert not ProjectMute.objects.exists()


def test_mute_bad_input_and_another_managers_project(client, manager, project):
    for data in ({"project": project.layers_id, "days": "2"}, {"days": "7"}, {}):
        response = client.post("/settings/alerts/mute/", data)
        assert response.status_code == 422, data
        assert "Nothing was saved" in html(response)
    other = ProjectFactory()
    other.account_managers.add(UserFactory())
    response = client.post("/settings/alerts/mute/", {"project": other.layers_id, "days": "7"})
    assert response.status_code == 404
    assert other.name not in html(client.get("/settings/alerts/"))
    assert not ProjectMute.objects.exists()


# --- the creatives table's ids filter -----------------------------------------------------------


def test_ids_filter_shows_exactly_those_creatives_with_a_removable_chip(client, manager, project):
    a, b, c = (AdsContentFactory(project=project, title=f"Creative {x}") for x in "ABC")
    foreign = AdsContentFactory(title="Creative of another project")
    url = f"/projects/{project.layers_id}/creatives/"
    # Any id form (upper case), a duplicate, an unknown id and another project's creative.
    ids = f"{a.layers_id.upper()}, {c.layers_id},{c.layers_id},nope,{foreign.layers_id}"
    page = html(client.get(url, {"ids": ids}))
    assert "Creative A" in page and "Creative C" in page
    assert "Creative B" not in page and "Creative of another project" not in page
    assert "Showing 4 creatives from an alert" in page
    assert 'name="ids"' in page  # kept by the filter form
    assert 'href="?"' in page  # the chip's remove link: the table without ids
    assert b.pk
    fragment = html(client.get(url, {"ids": a.layers_id}, **HX))
    assert "Showing 1 creative from an alert" in fragment and "Creative C" not in fragment


def test_ids_filter_bad_input_is_ignored_with_a_message(client, manager, project):
    AdsContentFactory(project=project, title="Creative A")
    url = f"/projects/{project.layers_id}/creatives/"
    for ids in ("x" * 65, ",".join(str(i) for i in range(201)), "a\x01b"):
        response = client.get(url, {"ids": ids})
        assert response.status_code == 200
        assert "List up to 200 creative ids" in html(response)
        assert "Creative A" in html(response)  # ignored: every creative
