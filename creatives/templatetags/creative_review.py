"""The review note/reason limit for templates, from creatives/review.py (one number, one place).

``{% load creative_review %}`` then ``{% review_text_max as max %}`` (1024).
"""

from __future__ import annotations

from django import template

from creatives import review

register = template.Library()


@register.simple_tag
def review_text_max() -> int:
    return review.REVIEW_TEXT_MAX_LENGTH
