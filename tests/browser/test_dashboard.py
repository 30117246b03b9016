"""The dashboard in a real browser (Chromium + htmx), on a live server synced from the sandbox.

Screenshots land in tests/screenshots/ (git-ignored) so a change to a page can be looked at.
"""

from __future__ import annotations

import re

import pytest
import requests
from playwright.sync_api import expect

from creatives.models import AdsContent, LeaderboardSnapshot, OverrideAudit
from projects.models import Project
from tests.browser.conftest import PASSWORD, login, screenshot
from tests.conftest import grant

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def manager(django_user_model, synced):
    """An account manager with the override permission, assigned to the first active project."""
    user = django_user_model.objects.create_user(
        username="maria", password=PASSWORD, first_name="Maria", last_name="Manager"
    )
    grant(user, "change_override")
    project = Project.objects.filter(status="active").order_by("name").first()
    project.account_managers.add(user)
    return user, project


def test_projects_and_overview(page, live, manager):
    _user, project = manager
    login(page, live.url, "maria")
    assert page.locator("table.projects tbody tr").count() == 1  # only the assigned project
    screenshot(page, "01-projects")
    # Typing searches as you type (htmx), and the search lands in the address bar.
    page.fill("input[name=q]", "no such customer")
    page.wait_for_url(re.compile(r".*q=no(%20|\+)such.*"))
    page.locator("text=No project matches these filters").wait_for()
    page.fill("input[name=q]", project.name[:4])
    page.locator("table.projects tbody tr").wait_for()
    page.click(f"text={project.name}")
    page.wait_for_url(f"**/projects/{project.layers_id}/")
    assert page.locator(".stats .stat").count() == 6
    screenshot(page, "02-overview")


def test_gallery_filters_and_load_more(page, live, manager):
    _user, project = manager
    login(page, live.url, "maria")
    page.goto(f"{live.url}/projects/{project.layers_id}/gallery/")
    tiles = page.locator("#gallery-grid .tile")
    assert tiles.count() == 24
    screenshot(page, "03-gallery")
    # Ticking a status filters through htmx and pushes the filter into the address bar.
    page.check("input[name=status][value=completed]")
    page.wait_for_url(re.compile(r".*status=completed.*"))
    tiles.first.wait_for()
    total = int(re.search(r"(\d+) containers", page.inner_text(".result-count")).group(1))
    assert all("Completed" in t for t in page.locator(".tile .meta").all_inner_texts())
    shown = tiles.count()
    assert shown == min(24, total)
    if total > 24:
        page.click("text=Load more")
        tiles.nth(shown).wait_for()  # (wait_for_function would need eval, which the CSP blocks)
        assert tiles.count() == min(48, total)
        # Keyboard users land on the first new card.
        # Focus moves when htmx settles, a moment after the cards appear: let expect() wait.
        expect(page.locator(".tile:focus")).to_have_count(1)
    screenshot(page, "04-gallery-filtered-more")
    # The pushed URL is a real page: reloading it shows the same filter.
    page.reload()
    assert page.is_checked("input[name=status][value=completed]")


def test_leaderboard_metric_change(page, live, manager):
    _user, project = manager
    login(page, live.url, "maria")
    page.goto(f"{live.url}/projects/{project.layers_id}/leaderboard/")
    assert 0 < page.locator("table.leaderboard tbody tr").count() <= 25
    assert re.search(r"\d(\.\d)?[KM]?$", page.locator("td.metric").first.inner_text().strip())
    screenshot(page, "05-leaderboard-views")
    page.select_option("#id_metric", "engagement_rate")
    page.wait_for_url(re.compile(r".*metric=engagement_rate.*"))
    page.wait_for_selector("th:has-text('Engagement rate')")
    assert page.locator("td.metric").first.inner_text().strip().endswith("%")
    screenshot(page, "06-leaderboard-engagement")
    # A paid metric with an organic-only source mix: the API's refusal appears by the controls.
    page.select_option("#id_metric", "roas")
    page.wait_for_url(re.compile(r".*metric=roas.*"))
    page.check("input[name=sourceType][value=platform_post]")
    page.wait_for_url(re.compile(r".*sourceType=platform_post.*"))
    page.click("text=Refresh from Layers")
    alert = page.locator("#leaderboard-results [role=alert]")
    alert.wait_for()
    assert "VALIDATION" in alert.inner_text() and "requires paid data" in alert.inner_text()
    screenshot(page, "07-leaderboard-refused")


def test_a_board_never_synced_shows_rows_without_a_click(page, live, manager):
    """Engagement rate over 7 days is not among the boards the sync keeps
    (LAYERS_LEADERBOARDS): its first view fetches it, and rows show with no button pressed."""
    _user, project = manager
    board = {"project": project, "metric": "engagement_rate", "window": "7d"}
    assert not LeaderboardSnapshot.objects.filter(**board).exists()
    login(page, live.url, "maria")
    requests_sent: list[str] = []
    page.on("request", lambda r: requests_sent.append(r.url) if "refresh" in r.url else None)
    page.goto(
        f"{live.url}/projects/{project.layers_id}/leaderboard/?metric=engagement_rate&window=7d"
    )
    expect(page.locator("table.leaderboard tbody tr").first).to_be_visible()
    assert page.locator("table.leaderboard tbody tr").count() > 0
    assert page.locator("td.metric").first.inner_text().strip().endswith("%")
    assert requests_sent == [], "no refresh was asked for"
    assert LeaderboardSnapshot.objects.filter(**board).exists()
    screenshot(page, "05b-leaderboard-first-view")


def test_include_a_creative_with_a_note(page, live, manager):
    user, project = manager
    login(page, live.url, "maria")
    page.goto(f"{live.url}/projects/{project.layers_id}/creatives/?override=none&sort=score_asc")
    row = page.locator("table.creatives tbody tr").first
    row_id = row.get_attribute("id")
    creative = AdsContent.objects.get(pk=int(row_id.split("-")[1]))
    assert creative.override == ""
    # The row's button opens the page's one override dialog, for this row.
    row.locator("[data-override=include]").click()
    dialog = page.locator("#override-dialog")
    expect(dialog).to_be_visible()
    assert creative.title[:20] in dialog.locator("[data-ovd-name]").inner_text()
    note = dialog.locator("textarea[name=note]")
    note.fill("Seasonal hero, keep it running")
    assert dialog.locator(".counter").inner_text() == "30 / 280"  # the live counter
    dialog.locator("[data-ovd-submit]").dblclick()  # a double click sends one change
    swapped = page.locator(f"#{row_id}")
    swapped.locator("[role=status]").wait_for()
    assert "Layers confirmed the change" in swapped.inner_text()
    assert "Included" in swapped.locator(".override-cell").inner_text()
    assert "Seasonal hero, keep it running" in swapped.inner_text()
    assert f"by {user.get_full_name()} via layersadmin" in swapped.inner_text()
    # Focus goes back to the row's button that was pressed, for keyboard users.
    expect(page.locator(f"#{row_id} [data-override=include]")).to_be_focused()
    screenshot(page, "08-creative-included", full_page=False)
    creative.refresh_from_db()
    assert (creative.override, creative.override_note) == (
        "include",
        "Seasonal hero, keep it running",
    )
    assert OverrideAudit.objects.filter(ads_content=creative).count() == 1


def test_the_failure_message_when_the_sandbox_refuses(page, live, manager, synced):
    _user, project = manager
    login(page, live.url, "maria")
    page.goto(f"{live.url}/projects/{project.layers_id}/creatives/?override=none")
    row = page.locator("table.creatives tbody tr").first
    row_id = row.get_attribute("id")
    requests.post(
        f"{synced.root_url}/_sandbox/faults", json={"rate": 1.0, "kinds": ["500"]}, timeout=5
    ).raise_for_status()
    row.locator("[data-override=exclude]").click()  # exclude asks first, in the dialog
    dialog = page.locator("#override-dialog")
    dialog.locator("textarea[name=note]").fill("Legal flagged the music")
    dialog.locator("[data-ovd-submit]").click()
    alert = page.locator(f"#{row_id} [role=alert]")
    alert.wait_for()
    text = alert.inner_text()
    assert "INTERNAL" in text or "UNAVAILABLE" in text
    assert "request req_" in text
    assert page.locator(f"#{row_id} .override-cell").inner_text().strip() == "none"
    # What was typed is kept: the dialog opens with it again for this row.
    page.locator(f"#{row_id} [data-override=exclude]").click()
    assert dialog.locator("textarea[name=note]").input_value() == "Legal flagged the music"
    dialog.locator("[data-ovd-cancel]").click()
    screenshot(page, "09-creative-refused", full_page=False)
    creative = AdsContent.objects.get(pk=int(row_id.split("-")[1]))
    assert creative.override == ""
    assert OverrideAudit.objects.get(ads_content=creative).outcome in {"failed", "unknown"}


def test_creative_detail_and_agency_leaderboard(page, live, manager):
    _user, project = manager
    login(page, live.url, "maria")
    creative = AdsContent.objects.filter(project=project, is_gone=False).order_by("-organic_score")[
        0
    ]
    page.goto(f"{live.url}/projects/{project.layers_id}/creatives/{creative.layers_id}/")
    assert page.locator("svg.chart").count() == 1
    screenshot(page, "10-creative-detail")
    page.goto(f"{live.url}/leaderboard/")
    assert page.locator("table.leaderboard tbody tr").count() > 0
    projects = set(page.locator("table.leaderboard tbody td:nth-child(4)").all_inner_texts())
    assert projects == {project.name}  # only what this manager may see
    screenshot(page, "11-agency-leaderboard")
    page.set_viewport_size({"width": 820, "height": 1000})
    page.goto(f"{live.url}/projects/{project.layers_id}/creatives/")
    screenshot(page, "12-creatives-narrow", full_page=False)
