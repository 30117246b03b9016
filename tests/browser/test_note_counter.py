"""The override note's live counter in a real browser agrees with the server's note_length.

app.js counts the textarea as creatives/notes.py does (line breaks as one, NULs dropped,
Python's whitespace stripped, emoji as two); the limit it shows comes from the page's data-max.
Here Chromium types and pastes notes and the counter's text is compared with note_length, and
the server's own refusal quotes the same number.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from creatives.models import AdsContent, OverrideAudit
from creatives.notes import NOTE_MAX_LENGTH, NOTE_WHITESPACE, note_length, note_normalise
from projects.models import Project
from tests.browser.conftest import PASSWORD, login, screenshot
from tests.conftest import grant
from tests.factories import AdsContentFactory, ProjectFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EMOJI = "\U0001f642"  # 🙂
THUMBS = "\U0001f44d\U0001f3fd"  # 👍🏽 (two astral code points)


def open_creatives(page, live, django_user_model, project) -> None:
    user = django_user_model.objects.create_user(username="nora", password=PASSWORD)
    grant(user, "change_override")
    project.account_managers.add(user)
    login(page, live.url, "nora")
    page.goto(f"{live.url}/projects/{project.layers_id}/creatives/?override=none&sort=score_asc")


@pytest.fixture
def row(page, live, django_user_model):
    """A creative made here (no sync needed: nothing below reaches the API), on its list page."""
    project = ProjectFactory(name="Bluebird Fitness")
    AdsContentFactory(project=project, title="Latte tutorial")
    open_creatives(page, live, django_user_model, project)
    return page.locator("table.creatives tbody tr").first


@pytest.fixture
def synced_row(page, live, django_user_model, synced):
    """The first creative without an override of the first synced project, on its list page."""
    project = Project.objects.filter(status="active").order_by("name").first()
    open_creatives(page, live, django_user_model, project)
    return page.locator("table.creatives tbody tr").first


def open_dialog(row):
    """The page's one override dialog, opened by the row's Include (its note and counter)."""
    row.locator("[data-override=include]").click()
    dialog = row.page.locator("#override-dialog[open]")
    expect(dialog).to_be_visible()
    return dialog


def expected(text: str) -> str:
    return f"{note_length(text)} / {NOTE_MAX_LENGTH}"


def test_typed_emoji_and_line_breaks_count_as_the_server_counts(page, row):
    dialog = open_dialog(row)
    note = dialog.locator("textarea[name=note]")
    counter = dialog.locator(".counter")
    assert note.get_attribute("data-max") == str(NOTE_MAX_LENGTH)
    assert note.get_attribute("maxlength") is None
    assert counter.inner_text() == f"0 / {NOTE_MAX_LENGTH}"
    # Typed key by key: Enter makes the line breaks (a browser posts each as CRLF).
    typed = f"  Hero {EMOJI}{EMOJI}\nkeep it\n\n running {THUMBS} e\u0301 "
    note.press_sequentially(typed)
    value = note.input_value()
    assert value == typed  # the textarea holds LF line breaks
    assert counter.inner_text() == expected(value) == expected(value.replace("\n", "\r\n"))
    # Hero·🙂🙂 9, LF 1, keep·it 7, LF LF 2, ·running· 9, 👍🏽 4, · 1, e+U+0301 2: outer spaces not.
    assert note_length(value) == 35
    screenshot(page, "13-note-counter", full_page=False)


def test_pasted_crlf_and_every_whitespace_character(row):
    dialog = open_dialog(row)
    note = dialog.locator("textarea[name=note]")
    counter = dialog.locator(".counter")
    # A script or a paste may hand the textarea CR and CRLF; its value turns them into LF.
    note.fill(f"one\r\ntwo\rthree{EMOJI}\r\n")
    assert counter.inner_text() == expected(f"one\r\ntwo\rthree{EMOJI}\r\n") == "15 / 280"
    # Python's whitespace set, and three characters JavaScript's trim() treats differently.
    for char in sorted(set(NOTE_WHITESPACE) | {"\ufeff", "\u180e", "\u200b"}):
        text = f"{char}{char}a{EMOJI}{char}"
        note.fill(text)
        assert counter.inner_text() == expected(text), f"U+{ord(char):04X}"


def test_the_limit_in_emoji_and_the_servers_refusal(page, row):
    dialog = open_dialog(row)
    note = dialog.locator("textarea[name=note]")
    counter = dialog.locator(".counter")
    note.fill(EMOJI * 140)
    assert counter.inner_text() == "280 / 280"
    assert "over" not in (counter.get_attribute("class") or "")
    note.fill(f"\n {EMOJI * 141} \n")  # nothing stops the typing: the counter warns
    assert counter.inner_text() == "282 / 280"
    assert "over" in counter.get_attribute("class")
    row_id = row.get_attribute("id")
    dialog.locator("[data-ovd-submit]").click()
    alert = page.locator(f"#{row_id} [role=alert]")
    alert.wait_for()
    assert "The note is 282 characters long (emoji count as two)" in alert.inner_text()
    # The kept note comes back with the swapped row and is counted again, the same way.
    dialog = open_dialog(page.locator(f"#{row_id}"))
    assert dialog.locator(".counter").inner_text() == "282 / 280"
    assert not OverrideAudit.objects.exists()


def test_a_note_at_the_limit_with_line_breaks_is_sent(page, synced_row):
    row = synced_row
    row_id = row.get_attribute("id")
    creative = AdsContent.objects.get(pk=int(row_id.split("-")[1]))
    dialog = open_dialog(row)
    note = dialog.locator("textarea[name=note]")
    # 130 emoji (260) + 19 letters + 1 line break = 280, with outer whitespace that is stripped.
    text = f"  {EMOJI * 130}\n{'x' * 19}\n "
    note.fill(text)
    assert dialog.locator(".counter").inner_text() == "280 / 280" == expected(text)
    dialog.locator("[data-ovd-submit]").click()
    page.locator(f"#{row_id} [role=status]").wait_for()
    creative.refresh_from_db()
    assert creative.override == "include"
    assert creative.override_note == note_normalise(text)


def test_the_admin_note_page_counts_the_same_way(page, live, django_user_model):
    """The admin's override actions ask for a note too: same counter, no maxlength."""
    django_user_model.objects.create_superuser(
        username="root", password=PASSWORD, email="root@example.com"
    )
    creative = AdsContentFactory()
    page.goto(f"{live.url}/admin/login/")
    page.fill("#id_username", "root")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.goto(f"{live.url}/admin/creatives/adscontent/")
    page.check(f"input[name=_selected_action][value='{creative.pk}']")
    page.select_option("select[name=action]", "override_exclude")
    page.click("button[name=index]")
    page.wait_for_load_state("load")  # app.js (deferred) has bound the counter
    note = page.locator("#id_note")
    assert note.get_attribute("maxlength") is None
    assert note.get_attribute("data-max") == str(NOTE_MAX_LENGTH)
    assert page.inner_text("#id_note_count") == f"0 / {NOTE_MAX_LENGTH}"
    typed = f" Legal {EMOJI}\nhold \u00a0"
    note.press_sequentially(typed)
    assert expected(typed) == "13 / 280"
    expect(page.locator("#id_note_count")).to_have_text("13 / 280")
