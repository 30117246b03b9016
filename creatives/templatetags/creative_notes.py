"""The override note's limit and length for templates, from creatives/notes.py (the one rule).

``{% load creative_notes %}`` then ``{% note_max_length %}`` (280) and ``{{ text|note_length }}``
(the count app.js shows), so no template or script writes the number itself.
"""

from __future__ import annotations

from django import template

from creatives import notes

register = template.Library()


@register.simple_tag
def note_max_length() -> int:
    return notes.NOTE_MAX_LENGTH


@register.filter
def note_length(value) -> int:
    return notes.note_length("" if value is None else str(value))
