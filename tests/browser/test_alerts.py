"""The bell and the notifications page in a real browser (Chromium + htmx, the strict CSP):
the unread count, mark read one and all without a reload, an alert's link to exactly its
creatives, the settings page; at 1440 px and at 390 px, never wider than the phone."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from alerts.services import alerts_evaluate_creatives, alerts_evaluate_projects
from alerts.services import sync_streak_record as streak
from tests.browser.conftest import PASSWORD, assert_fits, login, screenshot
from tests.factories import AdsContentFactory, ProjectFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def alerted(django_user_model, settings):
    """Maria manages a project with three open alerts (two creatives, one project rule)."""
    settings.LAYERS_ALERT_SYNC_FAILURES = 1
    user = django_user_model.objects.create_user(
        username="maria", password=PASSWORD, first_name="Maria", last_name="Manager"
    )
    project = ProjectFactory(name="Bluebird Fitness", timezone="America/Denver")
    project.account_managers.add(user)
    AdsContentFactory(project=project, title="Latte art <b>tutorial</b>", organic_score=5.5)
    low = AdsContentFactory(
        project=project, override="include", organic_score=2.4, title="Before-and-after latte"
    )
    AdsContentFactory(
        project=project, override="exclude", organic_score=8.3, title="Creator pour-over UGC"
    )
    alerts_evaluate_creatives(project=project)
    streak(project=project, ok=False, error="UNAVAILABLE: Layers answered 503")
    alerts_evaluate_projects(project_ids=[project.pk])
    return project, low


def test_bell_and_notifications_page(page, live, alerted):
    project, low = alerted
    login(page, live.url, "maria")
    bell = page.locator("#bell")
    expect(bell).to_have_attribute("aria-label", "Notifications: 3 unread")
    expect(bell.locator(".bell-count")).to_have_text("3")
    bell.click()
    page.wait_for_url(f"{live.url}/notifications/")
    items = page.locator(".notification")
    expect(items).to_have_count(3)
    expect(page.locator(".notification-unread")).to_have_count(3)
    screenshot(page, "alerts-01-notifications-1440")

    # Mark one read: htmx swaps the list and the bell, no reload.
    page.evaluate("window.__noReload = true")
    items.first.locator("button", has_text="Mark read").click()
    expect(page.locator(".notification-unread")).to_have_count(2)
    expect(page.locator("#bell .bell-count")).to_have_text("2")
    assert page.evaluate("window.__noReload === true")

    # An alert's link: the decision table with exactly that creative, and its chip.
    page.locator(".notification", has_text="Before-and-after latte").locator(
        "a", has_text="Open in the decision table"
    ).click()
    page.wait_for_url(re.compile(rf".*/creatives/\?ids={low.layers_id}$"))
    expect(page.locator(".ids-chip")).to_contain_text("Showing 1 creative from an alert")
    expect(page.locator("table.creatives tbody tr")).to_have_count(1)
    screenshot(page, "alerts-02-table-filtered-1440")
    page.locator(".ids-chip a").click()
    expect(page.locator(".ids-chip")).to_have_count(0)
    expect(page.locator("table.creatives tbody tr")).to_have_count(3)
    assert "ids=" not in page.url

    # Mark all read: the bell goes quiet.
    page.goto(f"{live.url}/notifications/")
    page.locator("button", has_text="Mark all as read").click()
    expect(page.locator(".notification-unread")).to_have_count(0)
    expect(page.locator("#bell")).to_have_attribute("aria-label", "Notifications: none unread")
    expect(page.locator("#bell .bell-count")).to_have_count(0)

    # The settings page.
    page.goto(f"{live.url}/settings/alerts/")
    expect(page.locator("input[name=rules]:checked")).to_have_count(8)
    screenshot(page, "alerts-03-settings-1440")


def test_phone_width(page, live, alerted):
    project, _low = alerted
    page.set_viewport_size({"width": 390, "height": 844})
    login(page, live.url, "maria")
    expect(page.locator("#bell .bell-count")).to_have_text("3")
    assert_fits(page, 390)
    page.goto(f"{live.url}/notifications/")
    expect(page.locator(".notification")).to_have_count(3)
    assert_fits(page, 390)
    screenshot(page, "alerts-04-notifications-390")
    page.goto(f"{live.url}/settings/alerts/")
    assert_fits(page, 390)
    screenshot(page, "alerts-05-settings-390")
    # Mute the project for 7 days, at phone width, as a plain form.
    page.locator("button[name=days][value='7']").click()
    expect(page.locator(".msg-success")).to_contain_text("muted until")
    assert_fits(page, 390)
    assert project.mutes.count() == 1
