"""Saved views in a browser (issue 15, part 6): Maria filters the scored creatives, saves the
view for her team, reopens it from its link; Ola, in the same team, finds it on the same page
and opens the same filters; Maria deletes it. The address never carries an empty parameter.

Screenshots (tests/screenshots/, git-ignored) of the control after saving, at 1440 px and
390 px wide, and of the view as her colleague sees it.
"""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from layersadmin.models import SavedView
from projects.models import Project
from tests.browser.conftest import PASSWORD, login, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def team(django_user_model, synced):
    growth = Group.objects.create(name="Growth")
    project = Project.objects.filter(status="active").order_by("name").first()
    people = {}
    for username, first in (("maria", "Maria"), ("ola", "Ola")):
        user = django_user_model.objects.create_user(
            username=username, password=PASSWORD, first_name=first, last_name="Example"
        )
        user.groups.add(growth)
        project.account_managers.add(user)
        people[username] = user
    return project, people


def test_save_a_team_view_and_reopen_it(browser, page, live, team):
    project, people = team
    login(page, live.url, "maria")
    base = f"{live.url}/projects/{project.layers_id}/creatives/"
    page.goto(base)
    page.select_option("#id_eligible", "yes")  # the form sends itself (htmx, pushed address)
    page.wait_for_url(re.compile(r"eligible=yes"))
    page.select_option("#id_window", "7d")
    page.wait_for_url(re.compile(r"window=7d"))
    assert "=&" not in page.url and not page.url.endswith("=")  # no empty parameter

    control = page.locator("#saved-views")
    control.locator("summary").click()
    control.locator("input[name=name]").fill("Eligible, last week")
    control.locator("select[name=share]").select_option(label="Team: Growth")
    control.locator("button[type=submit]", has_text="Save").click()
    expect(page.locator("#saved-views [role=status]")).to_contain_text(
        "Saved “Eligible, last week” for your team Growth."
    )
    view = SavedView.objects.get()
    assert (view.query, view.group.name, view.owner) == (
        "eligible=yes&window=7d",
        "Growth",
        people["maria"],
    )
    chip = page.locator("#saved-views a.chip", has_text="Eligible, last week")
    expect(chip).to_have_attribute("aria-current", "true")  # the view in use
    screenshot(page, "60-saved-views-1440", full_page=False)
    page.set_viewport_size({"width": 390, "height": 844})
    control.locator("summary").click()  # the form open too, as a phone shows it
    control.scroll_into_view_if_needed()
    page.evaluate("window.scrollBy(0, -120)")
    screenshot(page, "61-saved-views-390", full_page=False)
    control.locator("summary").click()
    page.set_viewport_size({"width": 1440, "height": 900})

    # Back to every creative, then the saved view: its link brings the filters back.
    page.goto(base)
    expect(page.locator("#id_eligible")).to_have_value("")
    page.locator("#saved-views a.chip", has_text="Eligible, last week").click()
    page.wait_for_url(re.compile(r"eligible=yes&window=7d$"))
    expect(page.locator("#id_eligible")).to_have_value("yes")
    expect(page.locator("#id_window")).to_have_value("7d")

    # Ola, in the same team, finds it on the same page and opens the same filters.
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    other = context.new_page()
    try:
        login(other, live.url, "ola")
        other.goto(base)
        shared = other.locator("#saved-views a.chip", has_text="Eligible, last week")
        expect(shared).to_have_attribute("title", re.compile("Shared with Growth by Maria Example"))
        expect(other.locator("#saved-views .saved-view-delete")).to_have_count(0)  # not hers
        shared.click()
        other.wait_for_url(re.compile(r"eligible=yes&window=7d$"))
        expect(other.locator("#id_eligible")).to_have_value("yes")
        screenshot(other, "62-saved-view-colleague-1440", full_page=False)
    finally:
        context.close()

    # Maria deletes it; the control says so and lists nothing.
    page.locator("#saved-views .saved-view-delete").click()
    expect(page.locator("#saved-views [role=status]")).to_contain_text(
        "Deleted the saved view “Eligible, last week”."
    )
    expect(page.locator("#saved-views a.chip")).to_have_count(0)
    assert not SavedView.objects.exists()


def test_a_refused_name_is_said_in_place(page, live, team):
    project, _people = team
    login(page, live.url, "maria")
    page.goto(f"{live.url}/projects/{project.layers_id}/gallery/")
    control = page.locator("#saved-views")
    control.locator("summary").click()
    name = control.locator("input[name=name]")
    name.fill("   ")  # passes the browser's "required", not the server
    control.locator("button[type=submit]", has_text="Save").click()
    expect(page.locator("#saved-views [role=alert]")).to_contain_text("Give the view a name.")
    expect(page.locator("#saved-views details[open]")).to_have_count(1)
    assert not SavedView.objects.exists()
    page.set_viewport_size({"width": 390, "height": 844})
    control.scroll_into_view_if_needed()
    screenshot(page, "63-saved-view-refused-gallery-390", full_page=False)
    # A page without a filter form (the review queue) has the control too: a queue as a link.
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(f"{live.url}/review/")
    expect(page.locator("#saved-views")).to_have_count(1)
    screenshot(page, "64-saved-views-review-queue-1440", full_page=False)
