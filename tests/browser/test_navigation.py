"""Navigation in a real browser (issue 16, part 5): Back and Forward restore what a filter
changed, one interaction sends one request, and stale results dim while new ones load.

Requests are counted with ``page.on("request")`` (only htmx's, by their ``HX-Request`` header);
a slow answer is made by holding the request in ``page.route`` until the test lets it go.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from projects.models import Project
from tests.browser.conftest import PASSWORD, login, screenshot
from tests.conftest import grant

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def viewer(django_user_model, synced):
    """An account manager who sees every project (so the project list has several rows)."""
    user = django_user_model.objects.create_user(username="nora", password=PASSWORD)
    grant(user, "view_all_projects")
    project = Project.objects.filter(status="active").order_by("name").first()
    return user, project


def htmx_requests(page) -> list[str]:
    """The URLs of every htmx request the page sends from now on (history restores too)."""
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if r.headers.get("hx-request") else None)
    return sent


def rows(page, selector: str) -> int:
    return page.locator(selector).count()


def test_search_then_back_and_forward(page, live, viewer):
    login(page, live.url, "nora")
    table = "table.projects tbody tr"
    everyone = rows(page, table)
    assert everyone >= 2
    sent = htmx_requests(page)
    page.fill("input[name=q]", "no such customer")
    page.wait_for_url(re.compile(r".*q=no(%20|\+)such.*"))
    page.locator("text=No project matches these filters").wait_for()
    assert len(sent) == 1  # typing sends one search, after the pause
    # Back: the list before the search, and the box empty again.
    page.go_back()
    page.wait_for_url(f"{live.url}/")
    expect(page.locator(table)).to_have_count(everyone)
    expect(page.locator("input[name=q]")).to_have_value("")
    screenshot(page, "nav-01-projects-after-back")
    # Forward: the search again, in the box and in the results.
    page.go_forward()
    page.wait_for_url(re.compile(r".*q=no(%20|\+)such.*"))
    page.locator("text=No project matches these filters").wait_for()
    expect(page.locator("input[name=q]")).to_have_value("no such customer")
    # The restored page still works: a new search goes through htmx and is pushed.
    page.fill("input[name=q]", "")
    page.wait_for_url(re.compile(r".*\?q=(&.*)?$"))
    expect(page.locator(table)).to_have_count(everyone)


def test_back_restores_every_filtered_page(page, live, viewer):
    """Gallery, project leaderboard, scored creatives and the agency leaderboard: a filter
    pushes its URL, Back shows the page before it (controls and results), Forward the filter."""
    _user, project = viewer
    login(page, live.url, "nora")
    base = f"{live.url}/projects/{project.layers_id}"
    pages = [
        (f"{base}/gallery/", "input[name=status][value=completed]", "check", r"status=completed"),
        (f"{base}/leaderboard/", "#id_metric", "engagement_rate", r"metric=engagement_rate"),
        (f"{base}/creatives/", "#id_eligible", "no", r"eligible=no"),
        (f"{live.url}/leaderboard/", "#id_metric", "roas", r"metric=roas"),
    ]
    for url, control, value, pushed in pages:
        page.goto(url)
        before = results_text(page)
        if value == "check":
            page.check(control)
        else:
            page.select_option(control, value)
        page.wait_for_url(re.compile(f".*{pushed}.*"))
        expect(page.locator(".results").first).not_to_have_attribute("aria-busy", "true")
        after = results_text(page)
        assert after != before, url
        page.go_back()
        page.wait_for_url(url)
        if value == "check":
            expect(page.locator(control)).not_to_be_checked()
        else:
            expect(page.locator(control)).not_to_have_value(value)
        assert results_text(page) == before, url
        page.go_forward()
        page.wait_for_url(re.compile(f".*{pushed}.*"))
        if value == "check":
            expect(page.locator(control)).to_be_checked()
        else:
            expect(page.locator(control)).to_have_value(value)
        assert results_text(page) == after, url


def results_text(page) -> str:
    """The results themselves (the table's rows or the gallery's tiles; notices such as
    "fetched just now" may differ on a second look), whitespace collapsed and ages ("3 min
    ago", which may tick over meanwhile) left out."""
    listed = page.locator(".results tbody, .results .gallery")
    region = listed.first if listed.count() else page.locator(".results").first
    text = region.inner_text()
    return " ".join(re.sub(r"\d+ (min|h|days?) ago|just now", "", text).split())


def test_enter_in_rows_sends_one_request(page, live, viewer):
    _user, project = viewer
    login(page, live.url, "nora")
    for url in (
        f"{live.url}/projects/{project.layers_id}/leaderboard/",
        f"{live.url}/leaderboard/",
    ):
        page.goto(url)
        sent = htmx_requests(page)
        page.fill("#id_limit", "7")
        page.press("#id_limit", "Enter")
        page.wait_for_url(re.compile(r".*limit=7.*"))
        expect(page.locator("table.leaderboard tbody tr")).to_have_count(7)
        page.wait_for_timeout(600)  # anything else would have been sent by now
        assert len(sent) == 1, sent
        # Tabbing away afterwards sends nothing more: the value was already sent.
        page.press("#id_limit", "Tab")
        page.wait_for_timeout(300)
        assert len(sent) == 1, sent
    # The search box: typing and then Enter before the pause is one request, not three.
    page.goto(f"{live.url}/")
    sent = htmx_requests(page)
    page.type("input[name=q]", "zz", delay=20)
    page.press("input[name=q]", "Enter")
    page.wait_for_url(re.compile(r".*q=zz.*"))
    page.wait_for_timeout(900)  # past the 400 ms typing pause
    assert len(sent) == 1, sent


def test_stale_results_dim_while_loading(page, live, viewer):
    _user, project = viewer
    login(page, live.url, "nora")
    page.goto(f"{live.url}/projects/{project.layers_id}/leaderboard/")
    held = []
    page.route(re.compile(r".*/leaderboard/\?.*"), lambda route: held.append(route))  # held
    page.select_option("#id_metric", "engagement_rate")
    results = page.locator("#leaderboard-results")
    expect(results).to_have_attribute("aria-busy", "true")
    expect(page.locator("#leaderboard-loading")).to_be_visible()
    page.wait_for_timeout(250)  # the fade's transition
    opacity = float(results.evaluate("e => getComputedStyle(e).opacity"))
    assert opacity < 0.7, opacity
    screenshot(page, "nav-02-leaderboard-loading", full_page=False)
    assert len(held) == 1
    held[0].continue_()
    page.unroute(re.compile(r".*/leaderboard/\?.*"))
    page.wait_for_selector("th:has-text('Engagement rate')")
    expect(results).not_to_have_attribute("aria-busy", "true")
    assert float(results.evaluate("e => getComputedStyle(e).opacity")) == 1.0


def test_screenshots_at_phone_width(page, live, viewer):
    _user, project = viewer
    page.set_viewport_size({"width": 390, "height": 844})
    login(page, live.url, "nora")
    page.fill("input[name=q]", "no such customer")
    page.wait_for_url(re.compile(r".*q=no.*"))
    page.go_back()
    page.wait_for_url(f"{live.url}/")
    page.locator("table.projects tbody tr").first.wait_for()
    screenshot(page, "nav-03-projects-after-back-390")
    page.goto(f"{live.url}/projects/{project.layers_id}/leaderboard/")
    page.locator("abbr.count").first.focus()  # a compacted count shows its full number
    screenshot(page, "nav-04-leaderboard-count-focused-390", full_page=False)
