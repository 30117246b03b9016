"""Numbers and API values as people read them: the one place that formats them.

Pure functions from a value (anything the API's JSON may hold: a number, a numeric string,
``None``, ``NaN``, a bool, garbage) to text, never raising. A missing or malformed value reads
as ``MISSING`` (an en dash). The template filters of ``layersadmin.templatetags.dashboard``
call these; the CSV exports keep the raw numbers and use none of it.

The house style (issue 16):

* **Counts** in full with thousands separators ("971,119"). Where a column is short of room
  they are compacted ("971.1K"), and the full number stays reachable (``count_compact`` plus
  the filter's ``title`` / focusable ``<abbr>``).
* **Durations** (the API gives milliseconds) in words of units, one style for every size:
  "53 s", "4 min 12 s", "1 h 15 min", and from ten hours on whole hours, "53 h", "2,392 h".
* **Amounts** (``spend``, ``cpa``) as the API gives them: two decimals, no currency symbol,
  because the API documents none; pages say so once in a footnote.
* **Percentages** from a rate (0.061) with one decimal: "6.1 %".
* **Ratios** (ROAS) with one decimal and a times sign: "5.2×". **Scores** to one decimal,
  rounded down ("3.96" -> "3.9"), so "4.0" always means at the eligibility threshold.

Human labels for the API's enumerated values (``content_container`` -> "Generated") are
looked up in the tables each app registers from its vocabulary module at start-up
(``labels_register``, called from ``AppConfig.ready``), so this base module names no domain
word itself; a value no table knows reads as a prettified raw value ("new_thing" ->
"New thing"), and the raw value always goes along for a tooltip.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any

MISSING = "–"
LABEL_MAX = 60  # a label longer than this (an unknown, hostile value) is cut

# --- Numbers -------------------------------------------------------------------------------


def number(value: Any) -> float | None:
    """A finite float from an int, float, Decimal or numeric string; else ``None``.

    Booleans are not numbers here (``True`` would read as 1); ``NaN`` and infinities, which
    some JSON encoders emit, are missing values."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str) and not value.strip():
        return None
    try:
        result = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return result if math.isfinite(result) else None


def half_up(value: float, places: int = 1) -> float:
    """Round as people do (1.25 -> 1.3), not to even as ``round()`` does."""
    if not math.isfinite(value) or abs(value) >= 1e15:
        return round(value, places)  # past a float's exact digits; quantize would raise
    quantum = Decimal(1).scaleb(-places)
    return float(Decimal(repr(value)).quantize(quantum, rounding=ROUND_HALF_UP))


def _whole(value: float) -> int:
    """Half-up to an integer (a Python int, so a huge finite float still formats)."""
    return int(half_up(value, 0))


def _trim(text: str) -> str:
    return text[:-2] if text.endswith(".0") else text


def count(value: Any) -> str:
    """A count in full: 971119 -> "971,119" (fractions rounded half up)."""
    n = number(value)
    return MISSING if n is None else f"{_whole(n):,}"


COMPACT_UNITS = ((1e3, "K"), (1e6, "M"), (1e9, "B"))


def count_compact(value: Any) -> str:
    """A count in at most four figures: 950 -> "950", 971119 -> "971.1K", 1250000 -> "1.3M".

    The unit is the smallest one whose rounded figure stays under 1,000, so 971,119 reads
    "971.1K" (never "1M"), and 999,950 reads "1M" (never "1000K")."""
    n = number(value)
    if n is None:
        return MISSING
    sign, n = ("-" if n < 0 else ""), abs(n)
    if _whole(n) < 1000:
        return f"{sign}{_whole(n):,}"
    for index, (size, suffix) in enumerate(COMPACT_UNITS):
        scaled = half_up(n / size)
        if scaled < 1000 or index == len(COMPACT_UNITS) - 1:
            return f"{sign}{_trim(f'{scaled:,.1f}')}{suffix}"
    raise AssertionError("unreachable")  # pragma: no cover


def is_compacted(value: Any) -> bool:
    """Whether ``count_compact`` drops digits of this value (so the full one must be offered)."""
    n = number(value)
    return n is not None and count_compact(n) != count(n)


def duration_ms(value: Any) -> str:
    """Milliseconds in words of units, one style for every size (see the module docstring):
    53000 -> "53 s", 252000 -> "4 min 12 s", 4521000 -> "1 h 15 min", 192253000 -> "53 h"."""
    n = number(value)
    if n is None or n < 0:
        return MISSING
    seconds = _whole(n / 1000)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        minutes, rest = divmod(seconds, 60)
        return f"{minutes} min {rest} s" if rest else f"{minutes} min"
    minutes = _whole(seconds / 60)
    if minutes < 600:
        hours, rest = divmod(minutes, 60)
        return f"{hours} h {rest} min" if rest else f"{hours} h"
    hours = _whole(seconds / 3600)
    if hours >= 1_000_000:  # no watch time is this long; an API bug should still read
        return f"{count_compact(hours)} h"
    return f"{hours:,} h"


def amount(value: Any) -> str:
    """An amount as the API gives it, without a currency (none is documented): "2,529.93"."""
    n = number(value)
    if n is None:
        return MISSING
    if abs(n) >= 1e15:  # past a float's cents: no cents to show
        return f"{n:,.0f}"
    return f"{half_up(n, 2):,.2f}"


def percent(value: Any) -> str:
    """A rate (0.061) as a percentage with one decimal: "6.1 %"."""
    n = number(value)
    if n is None or not math.isfinite(n * 100):
        return MISSING
    return f"{half_up(n * 100):,.1f} %"


def times(value: Any) -> str:
    """A ratio such as ROAS: 5.2 -> "5.2×"."""
    n = number(value)
    return MISSING if n is None else f"{half_up(n):,.1f}×"


def score(value: Any) -> str:
    """An organic score (0-10) to one decimal, rounded down: 4 -> "4.0", 3.96 -> "3.9".

    Down, so a score shown as "4.0" is never one under the 4.0 eligibility threshold (seed
    001: eligible at organicScore >= 4.0)."""
    n = number(value)
    if n is None:
        return MISSING
    if abs(n) >= 1e15:
        return f"{n:.1f}"
    return f"{Decimal(repr(n)).quantize(Decimal('0.1'), rounding=ROUND_FLOOR):.1f}"


def decimal(value: Any, places: int = 2) -> str:
    """A plain number with up to ``places`` decimals, trailing zeros dropped: 1.50 -> "1.5"."""
    n = number(value)
    if n is None:
        return MISSING
    text = f"{half_up(n, places):,.{places}f}" if abs(n) < 1e15 else f"{n:,.0f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


# --- Metrics (top-performers' `metric`, REFERENCE 8.8) ---------------------------------------

# How each metric's value reads; a metric not listed reads as a count.
METRIC_FORMATS = {
    "views": count_compact,
    "engagement_rate": percent,
    "roas": times,
    "watch_time_ms": duration_ms,
    "conversions": count,
}


def metric_text(value: Any, metric: str) -> str:
    """A metricValue as people read it, by metric (plain text, e.g. for a CSV's "shown")."""
    return METRIC_FORMATS.get(metric, count)(value)


def metric_change_text(value: Any, metric: str) -> str:
    """A change of a metricValue, signed: "+1.2K", "-0.4 %", and "±0" when it rounds away."""
    n = number(value)
    if n is None:
        return MISSING
    shown = metric_text(abs(n), metric)
    if shown == metric_text(0, metric):
        return f"±{shown}"
    return f"{'+' if n > 0 else '-'}{shown}"


# --- Labels of the API's values ----------------------------------------------------------------

_LABELS: dict[str, dict[str, str]] = {}


def labels_register(tables: Mapping[str, Mapping[str, str]]) -> None:
    """Add ``{kind: {raw value: label}}`` tables (each app's vocabulary, from its
    ``AppConfig.ready``). A kind registered twice merges; a value is labelled once."""
    for kind, table in tables.items():
        known = _LABELS.setdefault(kind, {})
        for raw, label in table.items():
            if known.get(raw, label) != label:
                raise ValueError(f"{kind}={raw!r} is labelled twice: {known[raw]!r}, {label!r}")
            known[raw] = label


def labels_for(kind: str) -> dict[str, str]:
    """The registered table of ``kind`` (a copy; empty for a kind nobody registered)."""
    return dict(_LABELS.get(kind, {}))


_SEPARATORS = re.compile(r"[\s_\-]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def prettify(raw: str) -> str:
    """An unknown API value made readable: "new_thing" -> "New thing", "ugc-remix" ->
    "Ugc remix"; control characters dropped, cut to ``LABEL_MAX`` characters."""
    text = _CONTROL.sub("", _SEPARATORS.sub(" ", raw)).strip()
    if len(text) > LABEL_MAX:
        text = text[: LABEL_MAX - 1].rstrip() + "…"
    return text[:1].upper() + text[1:] if text else MISSING


def api_label(value: Any, kind: str) -> str:
    """The human label of an API value of ``kind`` ("source_type", "platform", …): its
    registered label, else ``prettify(value)``; ``MISSING`` for no value (unless the kind
    labels the empty value, as "override" does: "None")."""
    raw = "" if value is None else str(value)
    table = _LABELS.get(kind, {})
    if raw in table:
        return table[raw]
    return prettify(raw) if raw else MISSING
