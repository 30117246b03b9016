"""Keyboard shortcuts on tables of rows (issue 16, part 3; static/js/tables.js): j / k move
the focus between rows, e opens the row's exclude confirmation (the one its button opens),
i includes with the focus kept in the row, ? lists the shortcuts, and the list's switch turns
every single-key shortcut off (WCAG 2.1.4), remembered across pages. Never while typing.

Screenshots (tests/screenshots/): the focused row and the list, at 1440 and 390 px.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from creatives.models import AdsContent
from projects.models import Project
from tests.browser.conftest import PASSWORD, login, screenshot
from tests.conftest import grant

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROWS = "table[data-row-keys] > tbody > tr:not(.load-more-row)"


@pytest.fixture
def manager(django_user_model, synced):
    user = django_user_model.objects.create_user(
        username="maria", password=PASSWORD, first_name="Maria", last_name="Manager"
    )
    grant(user, "change_override")
    project = Project.objects.filter(status="active").order_by("name").first()
    project.account_managers.add(user)
    return user, project


def focused_row_id(page) -> str | None:
    return page.evaluate(
        "(() => { const tr = document.activeElement && document.activeElement.closest('tr');"
        " return tr ? tr.id : null; })()"
    )


def test_j_k_move_e_confirms_i_includes_with_focus_kept(page, live, manager):
    _user, project = manager
    login(page, live.url, "maria")
    page.goto(f"{live.url}/projects/{project.layers_id}/creatives/?override=none")
    rows = page.locator(ROWS)
    assert rows.count() >= 3
    first, second = rows.nth(0).get_attribute("id"), rows.nth(1).get_attribute("id")

    page.keyboard.press("j")
    assert focused_row_id(page) == first
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("k")
    assert focused_row_id(page) == second
    # The focused row itself has focus, and a visible ring (not the browser's default none).
    assert page.evaluate("document.activeElement.id") == second
    ring = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert ring == "solid"
    screenshot(page, "shortcuts-01-row-focused-1440", full_page=False)

    # e: what the row's Exclude button opens (its confirmation); nothing is sent before it.
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if r.method == "POST" else None)
    page.keyboard.press("e")
    dialog = page.locator("dialog[open]")
    expect(dialog).to_be_visible()
    assert "keep running until you pause them" in dialog.inner_text()
    screenshot(page, "shortcuts-02-exclude-asks-1440", full_page=False)
    page.keyboard.press("Escape")
    expect(page.locator("dialog[open]")).to_have_count(0)
    assert sent == []
    assert focused_row_id(page) == second  # focus is back in the row

    # i: what the row's Include button does (its note dialog, then the change), and focus
    # stays in that row.
    creative = AdsContent.objects.get(pk=int(second.split("-")[1]))
    page.keyboard.press("i")
    asks = page.locator("dialog[open]")
    if asks.count():  # the shared override dialog (a per-row form sends at once)
        asks.locator("textarea").first.fill("Seasonal hero")
        asks.locator("button[type=submit]").first.click()
    expect(page.locator(f"#{second}")).to_contain_text("Included")
    # (the row or a button of it; expect() waits for the swap to settle)
    expect(page.locator(f"#{second}:focus, #{second} :focus")).to_have_count(1)
    creative.refresh_from_db()
    assert creative.override == "include"
    assert len(sent) == 1
    # ... so j goes on from there.
    page.keyboard.press("j")
    assert focused_row_id(page) == rows.nth(2).get_attribute("id")


def test_shortcuts_never_fire_while_typing_or_with_modifiers(page, live, manager):
    _user, project = manager
    login(page, live.url, "maria")
    page.goto(f"{live.url}/projects/{project.layers_id}/creatives/?override=none")
    field = page.locator("#id_minScore")  # a field of the filters (a number: keys go in)
    field.click()
    page.keyboard.type("jeki?")
    expect(page.locator("dialog[open]")).to_have_count(0)
    assert focused_row_id(page) is None
    assert page.evaluate("document.activeElement.id") == "id_minScore"
    page.locator("h1").click()  # out of the field
    page.keyboard.press("Control+j")
    page.keyboard.press("Alt+e")
    assert focused_row_id(page) is None
    expect(page.locator("dialog[open]")).to_have_count(0)


def test_question_mark_lists_them_and_the_switch_turns_them_off(page, live, manager):
    _user, project = manager
    login(page, live.url, "maria")
    page.goto(f"{live.url}/projects/{project.layers_id}/leaderboard/")
    assert page.locator(ROWS).count() > 1
    page.keyboard.press("j")
    first = page.evaluate("document.activeElement.closest('tr') && 1")
    assert first == 1

    page.keyboard.press("?")
    box = page.locator("#shortcuts-dialog")
    expect(box).to_be_visible()
    text = box.inner_text()
    for key, words in (("j", "Next row"), ("k", "previous row"), ("?", "This list")):
        assert words in text, (key, words)
    # No Include / Exclude / Clear on a leaderboard's rows, so none listed here.
    assert "Exclude" not in text
    screenshot(page, "shortcuts-03-list-1440", full_page=False)
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "shortcuts-04-list-390", full_page=False)
    page.set_viewport_size({"width": 1440, "height": 900})

    # Turned off in the list: j does nothing, ? does nothing, on this page and the next.
    box.locator("[data-shortcuts-toggle]").uncheck()
    box.locator("[data-shortcuts-close]").click()
    expect(box).to_be_hidden()
    page.locator("h1").click()
    page.keyboard.press("j")
    assert focused_row_id(page) is None
    page.keyboard.press("?")
    expect(box).to_be_hidden()
    page.goto(f"{live.url}/projects/{project.layers_id}/creatives/?override=none")
    page.keyboard.press("j")
    assert focused_row_id(page) is None
    # The page's button still opens the list, where the switch turns them on again.
    page.click("[data-shortcuts-open]")
    creatives_box = page.locator("#shortcuts-dialog")
    expect(creatives_box).to_be_visible()
    assert "Exclude the focused row" in creatives_box.inner_text()  # rows with buttons here
    creatives_box.locator("[data-shortcuts-toggle]").check()
    creatives_box.locator("[data-shortcuts-close]").click()
    page.locator("h1").click()
    page.keyboard.press("j")
    assert focused_row_id(page) == page.locator(ROWS).first.get_attribute("id")
