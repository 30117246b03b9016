"""Formatting for the dashboard: metrics as people read them, trend lines, freshness.

``{% load dashboard %}``. Every filter accepts anything (values come from the API's JSON) and
returns a string, never raising: a missing or malformed value shows as an en dash. The number
styles and the API values' labels are ``layersadmin.formatting``'s; these filters only add the
markup (a compacted count's full number, a label's raw value).
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from django import template
from django.utils import dateformat, timezone
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString

from layersadmin import formatting as fmt

register = template.Library()

MISSING = fmt.MISSING
_number = fmt.number


@register.filter
def compact(value: Any, unit: str = "") -> str:
    """A count in at most four figures ("971.1K"); when that drops digits, the full number
    ("971,119 views") is the title of a focusable <abbr>, so hover, keyboard focus and a tap
    all reach it (app.css shows the title on focus)."""
    short = fmt.count_compact(value)
    if not fmt.is_compacted(value):
        return short
    full = f"{fmt.count(value)} {unit}".strip()
    return format_html('<abbr class="count" tabindex="0" title="{}">{}</abbr>', full, short)


@register.filter
def integer(value: Any) -> str:
    """A count in full: "1,234"."""
    return fmt.count(value)


@register.filter
def percent(value: Any) -> str:
    """A rate (0.061) as a percentage: "6.1 %"."""
    return fmt.percent(value)


@register.filter
def share(value: Any) -> str:
    """A share already in percent (0-100, e.g. a bar's length): 62.5 -> "62.5 %"."""
    n = fmt.number(value)
    return fmt.MISSING if n is None else fmt.percent(n / 100)


@register.filter
def times(value: Any) -> str:
    """ROAS: 5.2 -> "5.2×"."""
    return fmt.times(value)


@register.filter
def duration(value: Any) -> str:
    """Milliseconds: "53 s", "4 min 12 s", "1 h 15 min", "2,392 h"."""
    return fmt.duration_ms(value)


@register.filter
def amount(value: Any) -> str:
    """An amount as the API gives it, without a currency (none is documented): "412.00"."""
    return fmt.amount(value)


@register.filter
def decimal(value: Any, places: int = 2) -> str:
    """A plain number, up to ``places`` decimals: 10.0 -> "10", 1.5 -> "1.5"."""
    try:
        places = max(0, min(6, int(places)))
    except (TypeError, ValueError):
        places = 2
    return fmt.decimal(value, places)


@register.filter
def score(value: Any) -> str:
    return fmt.score(value)


@register.filter
def metric_value(value: Any, metric: str) -> str:
    """A top-performers metricValue as people read it, by metric (views compacted, with the
    full number reachable)."""
    if metric == "views":
        return compact(value, "views")
    return fmt.metric_text(value, metric)


@register.filter
def metric_change(value: Any, metric: str) -> str:
    """A change of a metricValue, signed, as people read the metric: "+1.2K", "-0.4 %", "±0"."""
    return fmt.metric_change_text(value, metric)


@register.filter
def metric_label(metric: str) -> str:
    return fmt.api_label(metric, "metric")


@register.filter
def api_label(value: Any, kind: str) -> str:
    """An API value as people say it, the raw value in its tooltip:
    ``{{ row.source_type|api_label:"source_type" }}`` ->
    ``<span title="raw: content_container">Generated</span>``. An unknown value reads
    prettified; no value reads "–" (no tooltip). Hostile text is escaped."""
    label = fmt.api_label(value, kind)
    raw = "" if value is None else str(value)
    if not raw:
        return label
    return format_html('<span title="raw: {}">{}</span>', raw, label)


@register.filter
def api_labels(values: Any, kind: str) -> str:
    """A list of API values (``organic.platforms``), each as ``api_label``, comma-separated."""
    if not isinstance(values, (list, tuple)):
        return api_label(values, kind) if values else ""
    return SafeString(", ".join(conditional_escape(api_label(value, kind)) for value in values))


@register.filter
def sparkline(values: Any, size: str = "90x24") -> str:
    """SVG polyline points for a small trend line.

    Drawn on ``values.scale`` (low, high) when the series carries one, the scale its whole
    table shares (``creatives.selectors.Trend``), values outside it at the edge; otherwise on
    the series' own range.
    """
    try:
        width, height = (float(x) for x in str(size).split("x", 1))
    except ValueError:
        width, height = 90.0, 24.0
    numbers = [n for n in (_number(v) for v in (values or [])) if n is not None]
    if not numbers:
        return ""
    if len(numbers) == 1:
        numbers = numbers * 2
    low, high = min(numbers), max(numbers)
    scale = getattr(values, "scale", None)
    if isinstance(scale, tuple) and len(scale) == 2:
        shared = [_number(v) for v in scale]
        if None not in shared and shared[0] <= shared[1]:
            low, high = shared
    pad = 2.0
    span = high - low
    step = (width - 2 * pad) / (len(numbers) - 1)
    points = []
    for index, number in enumerate(numbers):
        x = pad + index * step
        number = max(low, min(high, number))
        y = height / 2 if span == 0 else pad + (high - number) / span * (height - 2 * pad)
        points.append(f"{x:.1f},{y:.1f}")
    return " ".join(points)


@register.filter
def ago(value: Any, now: datetime | None = None) -> str:
    """ "just now", "12 min ago", "3 h ago", "5 days ago"."""
    if not isinstance(value, datetime):
        return "never"
    now = now or timezone.now()
    seconds = (now - value).total_seconds()
    if seconds < 0:
        return "just now"
    minutes = int(seconds // 60)
    if minutes < 1:
        return "just now"
    if minutes < 60:
        return f"{minutes} min ago"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} h ago"
    return f"{hours // 24} days ago"


@register.filter
def movement(row: Any) -> str:
    """Rank movement as a glyph: ▲2, ▼1, new, or – (unchanged)."""
    kind = getattr(row, "movement", "")
    delta = getattr(row, "delta", 0)
    if kind == "up":
        return f"▲{delta}"
    if kind == "down":
        return f"▼{delta}"
    if kind == "new":
        return "new"
    return MISSING


@register.filter
def movement_text(row: Any) -> str:
    """The same for screen readers."""
    kind = getattr(row, "movement", "")
    delta = getattr(row, "delta", 0)
    if kind == "up":
        return f"up {delta}"
    if kind == "down":
        return f"down {delta}"
    if kind == "new":
        return "new in this snapshot"
    if kind == "same":
        return "unchanged"
    return "no earlier snapshot"


@register.simple_tag
def form_token() -> str:
    """A fresh random token for one rendered override form (see OverrideForm.form_token)."""
    return secrets.token_urlsafe(16)


def _sample_time(sample: Any) -> datetime | None:
    """When a score sample was scored (its ``scored_at``), else when we observed it."""
    moment = getattr(sample, "scored_at", None) or getattr(sample, "observed_at", None)
    return moment if isinstance(moment, datetime) else None


def _axis_format(start: datetime, end: datetime) -> str:
    """Labels that differ along the axis: times within a day, days within a year, else years."""
    first, last = timezone.localtime(start), timezone.localtime(end)
    if first.date() == last.date():
        return "H:i"
    if (end - start).days < 365 and first.year == last.year:
        return "j M"
    return "j M Y"


@register.inclusion_tag("creatives/partials/score_chart.html")
def score_chart(samples, threshold: float = 4.0, width: int = 860, height: int = 220):
    """An SVG line chart of score samples on a fixed 0-10 scale, with the 4.0 threshold.

    Plotted on when each score was scored (``ScoreSample.scored_at``; when we observed it for a
    sample without one), in that order, so the axis spans the real scoring times. The axis has
    up to five labels in the current (the project's) timezone, as times when the scores fall
    within one day and as dates when they span days.
    """
    left, right, top, bottom = 34, 10, 10, 24
    plot_w, plot_h = width - left - right, height - top - bottom
    points = [(_sample_time(s), _number(getattr(s, "score", None))) for s in samples]
    points = sorted(
        ((t, v) for t, v in points if v is not None and t is not None), key=lambda pt: pt[0]
    )

    def y(value: float) -> float:
        return top + (1 - max(0.0, min(10.0, value)) / 10) * plot_h

    coords = []
    labels: list[dict[str, Any]] = []
    if points:
        start, end = points[0][0], points[-1][0]
        span = (end - start).total_seconds() or 1.0
        for moment, value in points:
            share = (moment - start).total_seconds() / span if len(points) > 1 else 0.5
            x = left + share * plot_w
            coords.append((round(x, 1), round(y(value), 1)))
        fmt = _axis_format(start, end)
        steps = 4 if end > start else 0
        seen: set[str] = set()
        for index in range(steps + 1):
            moment = start + (end - start) * (index / steps) if steps else start
            # Times within one day: the first label also names the day.
            label_fmt = "j M Y, H:i" if fmt == "H:i" and not labels else fmt
            text = dateformat.format(timezone.localtime(moment), label_fmt)
            if text in seen:  # never the same label twice along the axis
                continue
            seen.add(text)
            share = index / steps if steps else 0.5
            anchor = "start" if share == 0 and steps else "end" if share == 1 else "middle"
            labels.append(
                {
                    "x": round(left + share * plot_w, 1),
                    "text": text,
                    "anchor": anchor,
                    "iso": moment.isoformat(),
                }
            )
    return {
        "width": width,
        "height": height,
        "left": left,
        "right_x": width - right,
        "bottom_y": top + plot_h,
        "ticks": [{"value": v, "y": round(y(v), 1)} for v in (0, 2, 4, 6, 8, 10)],
        "threshold_y": round(y(threshold), 1),
        "threshold": threshold,
        "points": " ".join(f"{x},{yy}" for x, yy in coords),
        "dots": coords,
        "first": points[0][0] if points else None,
        "last": points[-1][0] if points else None,
        "labels": labels,
        "count": len(points),
    }
