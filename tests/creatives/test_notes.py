"""The override note's one length rule (creatives/notes.py), the form that applies it, the
template that hands the limit to the page, and the copy of the whitespace set in app.js.

The browser side (the live counter agreeing with note_length) is tests/browser/test_note_counter.py.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.template.loader import render_to_string
from django.test import RequestFactory
from hypothesis import given
from hypothesis import strategies as st

from creatives.forms import OverrideForm
from creatives.notes import NOTE_MAX_LENGTH, NOTE_WHITESPACE, note_length, note_normalise

APP_JS = Path(__file__).resolve().parents[2] / "static" / "js" / "app.js"
EMOJI = "\U0001f642"  # 🙂: one code point, two UTF-16 code units


def utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


# --- the rule ------------------------------------------------------------------------------------


def test_the_limit_is_the_apis():
    assert NOTE_MAX_LENGTH == 280  # seed 001: "max 280 chars"


@pytest.mark.parametrize(
    ("text", "length"),
    [
        ("", 0),
        ("x" * 280, 280),
        ("x" * 281, 281),
        (EMOJI * 140, 280),
        (EMOJI * 141, 282),
        ("a\r\nb", 3),  # CRLF is one line break
        ("a\rb", 3),  # so is a lone CR
        ("a\nb", 3),
        ("a\r\n\r\nb", 4),  # two line breaks, not three or four
        ("  \t\n padded \r\n\u3000", 6),  # outer whitespace is not counted
        ("a\x00b", 2),  # NUL removed
        ("\x00 a \x00", 1),  # removed before stripping, so the spaces go too
        ("e\u0301", 2),  # a combining accent is its own character: no composition
        ("\u00e9", 1),  # the precomposed é
        ("\U0001f44d\U0001f3fd", 4),  # 👍🏽: emoji plus skin tone, two astral code points
        ("\ud83d", 1),  # a lone surrogate counts one, as in JavaScript
        ("\ufeffa\ufeff", 3),  # U+FEFF is not whitespace to Python (trim() would strip it)
        ("\x1ca\x85", 1),  # ... and these are (trim() would keep them)
    ],
)
def test_note_length(text, length):
    assert note_length(text) == length


def test_280_plain_characters_fit_and_281_do_not():
    assert note_length("x" * 280) <= NOTE_MAX_LENGTH < note_length("x" * 281)


def test_140_emoji_fit_and_141_do_not():
    assert note_length(EMOJI * 140) == NOTE_MAX_LENGTH
    assert note_length(EMOJI * 141) > NOTE_MAX_LENGTH
    assert note_length("x" * 279 + EMOJI) > NOTE_MAX_LENGTH  # one emoji too many by one unit


def test_combining_characters_count_each_code_point():
    decomposed = "e\u0301" * 140  # 140 é as the eye sees them, 280 code points
    assert note_length(decomposed) == 280
    assert note_length(decomposed + "e\u0301") == 282


def test_crlf_counts_as_one_so_a_browser_sent_note_fits():
    typed = "\n".join(["x" * 39] * 7)  # 273 + 6 line breaks = 279 in the textarea
    sent = typed.replace("\n", "\r\n")  # what a browser posts: 285 code points
    assert len(sent) > NOTE_MAX_LENGTH and note_length(sent) == note_length(typed) == 279


@pytest.mark.parametrize(
    ("text", "normalised"),
    [
        ("  Legal flagged it \r\n", "Legal flagged it"),
        ("a\r\nb\rc\nd", "a\nb\nc\nd"),
        ("a\x00b", "ab"),
        ("\r\x00\n", ""),  # CR to LF first, then the NUL goes: two LFs, stripped
        ("x\r\x00\ny", "x\n\ny"),
        ("\u2003em space\u00a0", "em space"),
        ("inner  spaces\tstay", "inner  spaces\tstay"),
    ],
)
def test_note_normalise(text, normalised):
    assert note_normalise(text) == normalised


def test_the_whitespace_set_is_exactly_what_str_strip_removes():
    spaces = {chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()}
    assert set(NOTE_WHITESPACE) == spaces
    assert len(NOTE_WHITESPACE) == len(spaces)  # no duplicates
    assert all(ord(c) <= 0xFFFF for c in NOTE_WHITESPACE)  # so app.js may test code units


@given(st.text(alphabet=st.characters(codec=None), max_size=60))
def test_properties(text):
    once = note_normalise(text)
    assert note_normalise(once) == once  # idempotent
    assert "\r" not in once and "\x00" not in once
    assert once == once.strip()  # the same as Python's own strip
    assert note_length(text) == max(len(once), utf16_units(once))


def test_app_js_strips_the_same_whitespace():
    source = APP_JS.read_text(encoding="utf-8")
    block = re.search(r"var NOTE_WHITESPACE = (.*?);", source, re.S)
    assert block, "app.js no longer defines NOTE_WHITESPACE"
    literals = re.findall(r'"((?:[^"\\]|\\.)*)"', block.group(1))
    assert "".join(json.loads(f'"{lit}"') for lit in literals) == NOTE_WHITESPACE
    assert "280" not in source  # the limit comes from the page's data-max


# --- the form ------------------------------------------------------------------------------------


def form(note: str) -> OverrideForm:
    return OverrideForm({"override": "include", "note": note, "form_token": "t"})


@pytest.mark.parametrize(
    ("note", "cleaned"),
    [
        ("x" * 280, "x" * 280),
        (EMOJI * 140, EMOJI * 140),
        ("e\u0301" * 140, "e\u0301" * 140),
        ("  " + "x" * 280 + "\r\n", "x" * 280),  # outer whitespace is not counted, nor kept
        ("\r\n".join(["x" * 39] * 7), "\n".join(["x" * 39] * 7)),  # as a browser posts it
        ("", ""),
    ],
)
def test_the_form_takes_a_note_that_fits(note, cleaned):
    f = form(note)
    assert f.is_valid(), f.errors
    assert f.cleaned_data["note"] == cleaned


@pytest.mark.parametrize(
    ("note", "length"),
    [
        ("x" * 281, 281),
        (EMOJI * 141, 282),
        ("x" * 279 + EMOJI, 281),
        ("e\u0301" * 141, 282),
        ("\r\n".join(["x" * 40] * 7) + "x" * 20, 306),
    ],
)
def test_the_form_refuses_a_note_that_does_not(note, length):
    f = form(note)
    assert not f.is_valid()
    assert f.errors["note"] == [
        f"The note is {length} characters long (emoji count as two); the API takes at most 280."
    ]
    assert f.errors.as_data()["note"][0].code == "max_length"


def test_the_form_still_refuses_nul_characters():
    f = form("a\x00b")
    assert not f.is_valid() and "Null characters are not allowed" in f.errors["note"][0]


def test_the_textarea_widget_carries_the_limit_not_maxlength():
    rendered = str(OverrideForm()["note"])
    assert 'data-max="280"' in rendered and "maxlength" not in rendered


# --- the template --------------------------------------------------------------------------------


def render_override_form(note_value: str = "") -> str:
    request = RequestFactory().get("/")
    context = {
        "project": SimpleNamespace(layers_id="prj_1"),
        "row": SimpleNamespace(pk=7, layers_id="adc_1", title="Latte"),
        "return_to": "/",
        "csrf_token": "tok",
        "note_value": note_value,
    }
    return render_to_string("creatives/partials/override_form.html", context, request=request)


def test_the_override_form_gets_the_limit_from_python():
    page = render_override_form()
    assert 'data-counter="count-7"' in page and 'data-max="280"' in page
    assert "maxlength" not in page
    assert '<span class="counter" id="count-7">0 / 280</span>' in page


def test_the_override_form_counts_a_kept_note_the_same_way():
    kept = f" {EMOJI * 2}\r\nok "  # 2 emoji (4) + line break + 2 = 7
    page = render_override_form(kept)
    assert '<span class="counter" id="count-7">7 / 280</span>' in page
    long = render_override_form(EMOJI * 141)
    assert '<span class="counter over" id="count-7">282 / 280</span>' in long
