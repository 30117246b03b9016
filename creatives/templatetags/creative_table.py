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


@register.filter
def amount(value: Any) -> str:
    """An amount as the API gives it, without a currency (none is documented): "412.00"."""
    number = dashboard._number(value)
    return dashboard.MISSING if number is None else f"{number:,.2f}"


FORMATS = {
    "compact": dashboard.compact,
    "percent": dashboard.percent,
    "duration": dashboard.duration,
    "integer": dashboard.integer,
    "times": dashboard.times,
    "amount": amount,
}


@register.filter
def figure(row: Any, column: Column) -> str:
    """The row's figure of this column (``fig_<name>``, joined by the selector), formatted."""
    if column.figure is None:
        return ""
    value = getattr(row, f"fig_{column.figure.name}", None)
    return FORMATS.get(column.figure.format, dashboard.integer)(value)
