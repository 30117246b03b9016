"""The override note's one length rule, shared by the server and the browser's live counter.

The Layers API takes an override note of "max 280 chars" (seed 001, PATCH
/v1/projects/:projectId/ads-content/:id). It does not say what a "char" is, and the three
usual answers differ:

* code points (Python's ``len``): 🙂 is 1;
* UTF-16 code units (JavaScript's ``.length``, and what an HTML ``maxlength`` counts): 🙂 is 2;
* a line break sent by a browser form is CRLF (2), while the textarea's value holds LF (1).

A note the API might refuse must never be sent, so we count the strictest way. The rule:

1. Normalise (``note_normalise``): line breaks to LF (CRLF, then any lone CR, become LF), then
   NUL characters removed, then whitespace stripped from both ends. The whitespace set is
   ``NOTE_WHITESPACE``, exactly the characters Python's ``str.strip()`` removes (it is checked
   against ``str.isspace`` in tests/creatives/test_notes.py). JavaScript's ``trim()`` uses a
   different set (it strips U+FEFF but keeps U+001C-U+001F and U+0085), so static/js/app.js
   strips this explicit list instead of calling ``trim()``.
2. Count (``note_length``): the larger of the number of code points and the number of UTF-16
   code units of the normalised note. Code points never outnumber UTF-16 units, so this is the
   UTF-16 count: every character outside the Basic Multilingual Plane (most emoji) counts 2,
   everything else 1. A lone surrogate (possible in a Python ``str``) counts 1, as in
   JavaScript. Nothing is composed or decomposed: "é" typed as e + U+0301 counts 2.
3. The note is acceptable when ``note_length(note) <= NOTE_MAX_LENGTH`` (280). So 280 ASCII
   characters pass and 281 do not; 140 emoji pass and 141 do not.

The browser's counter (static/js/app.js, ``bindCounters``) applies the same three steps to the
textarea's value, whose line breaks are already LF, and counts with ``.length``; the limit it
shows comes from the template's ``data-max``, rendered from ``NOTE_MAX_LENGTH``, so the number
280 lives here only.
"""

from __future__ import annotations

NOTE_MAX_LENGTH = 280  # seed 001: "max 280 chars"

# What Python's str.strip() strips (every character whose str.isspace() is true), written out
# so that app.js can strip the very same set. All are in the Basic Multilingual Plane.
NOTE_WHITESPACE = (
    "\t\n\x0b\x0c\r"  # tab, LF, vertical tab, form feed, CR
    "\x1c\x1d\x1e\x1f"  # file, group, record and unit separators
    " \x85\xa0"  # space, next line (NEL), no-break space
    "\u1680"  # ogham space mark
    "\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"  # en quad … hair space
    "\u2028\u2029"  # line and paragraph separators
    "\u202f\u205f\u3000"  # narrow no-break, medium mathematical and ideographic spaces
)


def note_normalise(text: str) -> str:
    """The note as it is counted and stored: LF line breaks, no NULs, no outer whitespace."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\x00", "")
    return text.strip(NOTE_WHITESPACE)


def note_length(text: str) -> int:
    """The strictest length of the normalised note: max(code points, UTF-16 code units)."""
    text = note_normalise(text)
    # UTF-16 units: 2 for a character beyond U+FFFF, 1 for anything else (lone surrogates
    # included). That is never fewer than the code points, so it is the max of the two.
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)


def note_too_long_message(length: int) -> str:
    """The one sentence shown when a note is over the limit."""
    return (
        f"The note is {length} characters long (emoji count as two); "
        f"the API takes at most {NOTE_MAX_LENGTH}."
    )
