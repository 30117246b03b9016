"""Formatting for the dashboard: metrics as people read them, trend lines, freshness.

``{% load dashboard %}``. Every filter accepts anything (values come from the API's JSON) and
returns a string, never raising: a missing or malformed value shows as an en dash.
"""

from __future__ import annotations

import math
import secrets
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django import template
from django.utils import dateformat, timezone

register = template.Library()

MISSING = "–"
METRIC_LABELS = {
    "views": "Views",
    "engagement_rate": "Engagement rate",
    "conversions": "Conversions",
    "roas": "ROAS",
    "watch_time_ms": "Watch time",
}


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None or value == "":
        return None
    try:
        result = float(value)
    except (TypeError, ValueError):
        return None
    return result if math.isfinite(result) else None


def _trim(text: str) -> str:
    return text[:-2] if text.endswith(".0") else text


def _half_up(number: float, places: int = 1) -> float:
    """Round as people do (1.25 -> 1.3), not to even as round() does."""
    if not math.isfinite(number) or abs(number) >= 1e15:
        return round(number, places)  # past a float's exact digits; quantize would raise
    quantum = Decimal(1).scaleb(-places)
    return float(Decimal(repr(number)).quantize(quantum, rounding=ROUND_HALF_UP))


@register.filter
def compact(value: Any) -> str:
    """148200 -> "148.2K", 1250000 -> "1.3M", 950 -> "950"."""
    number = _number(value)
    if number is None:
        return MISSING
    sign = "-" if number < 0 else ""
    number = abs(number)
    if number < 1000:
        return f"{sign}{number:,.0f}"
    for threshold, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        scaled = _half_up(number / threshold)
        if scaled >= 1:  # 999,950 rounds to 1.0M here, so it never reads "1000.0K"
            return f"{sign}{_trim(f'{scaled:.1f}')}{suffix}"
    return f"{sign}{number:,.0f}"


@register.filter
def percent(value: Any) -> str:
    """A rate (0.061) as a percentage: "6.1 %"."""
    number = _number(value)
    if number is None or not math.isfinite(number * 100):
        return MISSING
    return f"{_half_up(number * 100):.1f} %"


@register.filter
def times(value: Any) -> str:
    """ROAS: 5.2 -> "5.2×"."""
    number = _number(value)
    return MISSING if number is None else f"{_half_up(number):.1f}×"


@register.filter
def duration(value: Any) -> str:
    """Milliseconds as a clock: 245000 -> "4:05", 4521000 -> "1:15:21", 100 h and up "1,234 h"."""
    number = _number(value)
    if number is None or number < 0:
        return MISSING
    seconds = int(round(number / 1000))
    if seconds >= 100 * 3600:
        return f"{seconds // 3600:,} h"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours:,}:{minutes:02d}:{secs:02d}"
    return f"{minutes}:{secs:02d}"


@register.filter
def money(value: Any) -> str:
    """The API's money (dollars, two decimals): 412 -> "$412.00"."""
    number = _number(value)
    if number is None:
        return MISSING
    return f"-${abs(number):,.2f}" if number < 0 else f"${number:,.2f}"


@register.filter
def integer(value: Any) -> str:
    number = _number(value)
    return MISSING if number is None else f"{number:,.0f}"


@register.filter
def score(value: Any) -> str:
    number = _number(value)
    return MISSING if number is None else f"{number:.1f}"


@register.filter
def metric_value(value: Any, metric: str) -> str:
    """A top-performers metricValue as people read it, by metric."""
    formatter = {
        "views": compact,
        "engagement_rate": percent,
        "roas": times,
        "watch_time_ms": duration,
        "conversions": integer,
    }.get(metric, integer)
    return formatter(value)


@register.filter
def metric_change(value: Any, metric: str) -> str:
    """A change of a metricValue, signed, as people read the metric: "+1.2K", "-0.4 %", "±0"."""
    number = _number(value)
    if number is None:
        return MISSING
    shown = metric_value(abs(number), metric)
    if shown.lstrip("$").strip("0.,:% ×").strip() == "":  # rounds to nothing
        return f"±{shown}"
    return f"{'+' if number > 0 else '-'}{shown}"


@register.filter
def metric_label(metric: str) -> str:
    return METRIC_LABELS.get(metric, str(metric))


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
