"""Excluding asks first, in a native <dialog> that app.js opens (issue 15, part 3): Cancel
sends nothing, Exclude sends the PATCH with the note typed, and the row shows the exclusion.

Screenshots (tests/screenshots/, git-ignored) of the dialog open on the creatives table and
on a creative's page, at 1440 px and 390 px wide.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from creatives.models import AdsContent, OverrideAudit
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


def test_exclude_asks_first_cancel_sends_nothing_confirm_sends_it(page, live, manager, synced):
    user, project = manager
    login(page, live.url, "maria")
    page.goto(f"{live.url}/projects/{project.layers_id}/creatives/?override=none")
    row = page.locator("table.creatives tbody tr").first
    row_id = row.get_attribute("id")
    creative = AdsContent.objects.get(pk=int(row_id.split("-")[1]))
    sent: list[str] = []
    page.on(
        "request",
        lambda r: sent.append(r.method) if "/creatives/change/" in r.url else None,
    )

    row.locator("[data-override=exclude]").click()
    dialog = page.locator("#override-dialog[open]")  # the page's one dialog, for this row
    expect(dialog).to_be_visible()
    assert "keep running until you pause them" in dialog.inner_text()
    # Modal: focus is inside the dialog, on the safe choice.
    assert page.evaluate("document.activeElement.hasAttribute('data-ovd-cancel')")
    screenshot(page, "20-exclude-dialog-table-1440", full_page=False)
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "21-exclude-dialog-table-390", full_page=False)
    page.set_viewport_size({"width": 1440, "height": 900})

    dialog.locator("[data-ovd-cancel]").click()
    expect(page.locator("dialog[open]")).to_have_count(0)
    assert sent == []  # Cancel sent nothing
    expect(row.locator("[data-override=exclude]")).to_be_focused()
    page.keyboard.press("Enter")  # Exclude again, from the keyboard; Escape cancels too
    expect(dialog).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("dialog[open]")).to_have_count(0)
    assert sent == [] and not OverrideAudit.objects.filter(ads_content=creative).exists()

    row.locator("[data-override=exclude]").click()
    dialog.locator("textarea[name=note]").fill("Legal flagged the music")
    dialog.locator("[data-ovd-submit]").click()
    swapped = page.locator(f"#{row_id}")
    swapped.locator("[role=status]").wait_for()
    assert sent == ["POST"]
    assert "Excluded" in swapped.locator(".override-cell").inner_text()
    assert "Legal flagged the music" in swapped.locator(".override-cell").inner_text()
    assert "by Maria Manager via layersadmin" in swapped.inner_text()
    creative.refresh_from_db()
    assert (creative.override, creative.override_note) == ("exclude", "Legal flagged the music")
    audit = OverrideAudit.objects.get(ads_content=creative)
    assert (audit.outcome, audit.after_override) == ("succeeded", "exclude")


def test_exclude_dialog_on_the_creative_page(page, live, manager):
    _user, project = manager
    login(page, live.url, "maria")
    creative = AdsContent.objects.filter(project=project, is_gone=False, override="").order_by(
        "-organic_score"
    )[0]
    page.goto(f"{live.url}/projects/{project.layers_id}/creatives/{creative.layers_id}/")
    panel = page.locator("#override-panel")
    panel.locator("textarea[name=note]").fill("Off-brand")
    panel.locator("button[data-confirm]").click()
    expect(panel.locator("dialog[open]")).to_be_visible()
    screenshot(page, "22-exclude-dialog-detail-1440", full_page=False)
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "23-exclude-dialog-detail-390", full_page=False)
    panel.locator("dialog[open] [data-confirm-submit]").click()
    page.locator("#override-panel [role=status]").wait_for()
    assert "Excluded" in page.locator("#override-panel .override-now").inner_text()
    # Clear is offered now that an override is set.
    expect(page.locator("#override-panel button[value=clear]")).to_have_count(1)
    creative.refresh_from_db()
    assert (creative.override, creative.override_note) == ("exclude", "Off-brand")
