"""The review note/reason limit for templates, from creatives/review.py (one number, one place).

``{% load creative_review %}`` then ``{% review_text_max as max %}`` (1024), and
``{% review_word "approve_note_label" %}`` (the words, with that limit in them).
"""

from __future__ import annotations

from django import template

from creatives import review
from creatives.vocabulary import WORDS

register = template.Library()


@register.simple_tag
def review_text_max() -> int:
    return review.REVIEW_TEXT_MAX_LENGTH


@register.simple_tag
def review_word(key: str) -> str:
    """A review word from creatives/vocabulary.py, with the text limit filled in; an unknown
    key raises (a typo fails the page's tests instead of showing nothing)."""
    return WORDS[key].format(max=f"{review.REVIEW_TEXT_MAX_LENGTH:,}")
