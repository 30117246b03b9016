"""The creatives table's cells for templates, from ``creatives.table`` (the one column list).

``{% load creative_table %}`` then ``{{ row|figure:column }}`` (a figure as people read it) and
``{% creative_table_for row as table %}`` (the page's table, or, for one row re-rendered on
its own after an override, the table of the window its page showed: ``return_to``).
"""

from __future__ import annotations

from typing import Any

from django import template

from creatives.table import Column
from layersadmin.templatetags import dashboard

register = template.Library()


FORMATS = {
    "percent": dashboard.percent,
    "duration": dashboard.duration,
    "integer": dashboard.integer,
    "times": dashboard.times,
    "amount": dashboard.amount,
}


@register.filter
def figure(row: Any, column: Column) -> str:
    """The row's figure of this column (``fig_<name>``, joined by the selector), formatted
    (``layersadmin.formatting``'s styles; a compacted count keeps its full number)."""
    if column.figure is None:
        return ""
    value = getattr(row, f"fig_{column.figure.name}", None)
    if column.figure.format == "compact":
        return dashboard.compact(value, column.figure.label.lower())
    return FORMATS.get(column.figure.format, dashboard.integer)(value)


@register.filter
def running_text(promotions: Any) -> str:
    """A row's running ads as plain words for the exclude question ("Meta ads, TikTok ads"):
    text for a data attribute, which static/js/decide.js puts in the dialog as text."""
    from layersadmin.formatting import api_label

    if not isinstance(promotions, list):
        return ""
    names = [
        api_label(p.get("platform"), "platform") if p.get("platform") else "ad"
        for p in promotions
        if isinstance(p, dict)
    ]
    return ", ".join(names)
