"""The decision table in a real browser (issue 15): sorting, a bulk action in which one row
fails, and its Undo. The bulk action runs on a worker: here the test plays the worker
(``bulk_override_run``, what ``creatives.tasks.bulk_override_task`` calls) while the page
polls its progress.

Screenshots (tests/screenshots/, git-ignored) at 1440 and 390 px wide.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from creatives.bulk import bulk_override_run
from creatives.models import AdsContent, BulkOverride
from projects.models import Project
from tests.browser.conftest import PASSWORD, login, screenshot
from tests.conftest import grant

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def manager(django_user_model, synced):
    user = django_user_model.objects.create_user(
        username="maria", password=PASSWORD, first_name="Maria", last_name="Manager"
    )
    grant(user, "change_override")
    project = Project.objects.filter(status="active").order_by("name").first()
    project.account_managers.add(user)
    return user, project


def scores(page) -> list[float]:
    return [float(t) for t in page.locator("table.creatives tbody .score-value").all_inner_texts()]


def test_sorting_a_column_changes_the_order(page, live, manager):
    _user, project = manager
    login(page, live.url, "maria")
    page.goto(f"{live.url}/projects/{project.layers_id}/creatives/")
    first = scores(page)
    assert first == sorted(first, reverse=True) and first[0] > first[-1]  # highest first
    page.click("th a.sort-link:has-text('Score')")  # the header sorts the other way now
    page.wait_for_url(re.compile(r".*sort=score_asc.*"))
    expect(page.locator("th[aria-sort=ascending]")).to_have_count(1)
    again = scores(page)
    assert again == sorted(again) and again[0] < first[0]
    assert page.input_value("#id_sort") == "score_asc"  # the controls show it too
    titles = page.locator("th a.sort-link:has-text('Creative')")
    titles.click()
    page.wait_for_url(re.compile(r".*sort=title_asc.*"))
    names = page.locator("table.creatives tbody a.strong").all_inner_texts()
    titled = [n for n in names if n != "(untitled)"]  # creatives without a title sort last
    assert titled and names[: len(titled)] == titled
    assert titled == sorted(titled, key=str.casefold) or titled == sorted(titled)


def test_a_bulk_action_with_one_failure_then_undo(page, live, manager):
    _user, project = manager
    login(page, live.url, "maria")
    rows = list(
        AdsContent.objects.filter(project=project, is_gone=False, override="").order_by(
            "-organic_score", "-layers_id"
        )[:3]
    )
    gone = rows[1]  # deleted upstream since the last sync: Layers will answer 404
    AdsContent.objects.filter(pk=gone.pk).update(
        layers_id="99999999-dead-4bbb-8ccc-000000000000", key="99999999dead4bbb8ccc000000000000"
    )
    page.goto(f"{live.url}/projects/{project.layers_id}/creatives/?override=none")
    bar = page.locator("#bulk-form")
    expect(bar.locator("button[value=include]")).to_be_disabled()  # nothing ticked yet
    for row in rows:
        page.check(f"#creative-{row.pk} input[name=ids]")
    expect(bar.locator("[data-bulk-count]")).to_have_text("3 selected")
    bar.locator("textarea[name=note]").fill("Spring push")
    screenshot(page, "30-bulk-selected-1440", full_page=False)
    bar.locator("button[value=include]").click()
    status = page.locator("#bulk-region .bulk-status")
    expect(status).to_contain_text("Queued, waiting for a worker")
    bulk = BulkOverride.objects.get()
    assert bulk.items.count() == 3

    bulk_override_run(bulk_id=bulk.pk)  # the worker
    expect(status).to_contain_text("Done:", timeout=10_000)  # the page polled
    expect(status).to_contain_text("2 done, 1 failed")
    failed = status.locator(f"[data-failed='{gone.pk}']")
    expect(failed).to_contain_text(gone.title[:30])
    expect(failed).to_contain_text("Layers no longer has this creative")
    expect(failed).to_contain_text("code NOT_FOUND")
    # Each row shows its own result, in place.
    expect(page.locator(f"#creative-{gone.pk} [role=alert]")).to_contain_text("failed")
    for row in (rows[0], rows[2]):
        expect(page.locator(f"#creative-{row.pk} .override-cell")).to_contain_text("Included")
        expect(page.locator(f"#creative-{row.pk} .override-cell")).to_contain_text("Spring push")
    expect(status.locator("button:has-text('Undo')")).to_be_visible()
    assert "Possible until" in status.inner_text()
    screenshot(page, "31-bulk-one-failed-1440", full_page=False)
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "32-bulk-one-failed-390", full_page=False)
    page.set_viewport_size({"width": 1440, "height": 900})

    status.locator("button:has-text('Undo')").click()
    expect(status).to_contain_text("Undo of bulk action")
    undo = BulkOverride.objects.get(kind="undo")
    bulk_override_run(bulk_id=undo.pk)  # the worker
    expect(status).to_contain_text("Done:", timeout=10_000)
    for row in (rows[0], rows[2]):
        expect(page.locator(f"#creative-{row.pk} .override-cell")).to_contain_text("none")
        row.refresh_from_db()
        assert (row.override, row.override_note) == ("", "")
    screenshot(page, "33-bulk-undone-1440", full_page=False)


def test_the_agency_table(page, live, manager):
    _user, project = manager
    login(page, live.url, "maria")
    page.click("nav.site-nav a:has-text('All creatives')")
    page.wait_for_url(f"{live.url}/creatives/")
    projects = set(page.locator("table.creatives tbody td.project-cell").all_inner_texts())
    assert projects == {project.name}  # only what this manager may see
    screenshot(page, "34-agency-creatives-1440", full_page=False)
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "35-agency-creatives-390", full_page=False)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
