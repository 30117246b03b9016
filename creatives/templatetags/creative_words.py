"""The creative pages' words for templates, from creatives/vocabulary.py (the one place).

``{% load creative_words %}`` then ``{% creative_word "exclude_running_ads" %}``; an unknown key
raises, so a typo fails the page's tests instead of showing nothing.
"""

from __future__ import annotations

from django import template

from creatives.vocabulary import WORDS

register = template.Library()


@register.simple_tag
def creative_word(key: str) -> str:
    return WORDS[key]
