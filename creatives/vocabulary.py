"""The domain's words, named once: the API's metrics and windows, and a creative's figures.

Everything that lists them (the leaderboard controls, the figures a board or a row fills,
the creatives table's figure columns and its CSV, the model's columns, checked by a test)
derives from the tuples here; nothing else writes them out again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

# top-performers' `metric` and `window` (seed 000, REFERENCE 8.8).
METRICS = ("views", "engagement_rate", "conversions", "roas", "watch_time_ms")
WINDOWS = ("7d", "30d", "90d")
METRIC_LABELS = {  # the API's METRICS, as people say them
    "views": "Views",
    "engagement_rate": "Engagement rate",
    "conversions": "Conversions",
    "roas": "ROAS",
    "watch_time_ms": "Watch time",
}
WINDOW_LABELS = {"7d": "7 days", "30d": "30 days", "90d": "90 days"}

# The ads-content row's own `organicPerformance` / `adPerformance` blocks (seed 001 names them;
# REFERENCE 8.6: inner fields undocumented, no window given). Their figures are kept under this
# window of their own, never passed off as one of the API's windows.
ROW_WINDOW = "row"
FIGURE_WINDOWS = (*WINDOWS, ROW_WINDOW)
FIGURE_WINDOW_LABELS = {**WINDOW_LABELS, ROW_WINDOW: "Row (no window)"}

# Where figures come from (CreativeFigures.source).
SOURCE_BOARD, SOURCE_ROW = "board", "row"


@dataclass(frozen=True)
class Figure:
    """One performance figure of a creative: its column, how people say it, where the API
    gives it (a top-performers item's section and field, seed 000; the ads-content row's
    block and field, the same names as far as the sandbox shows), and how it is shown
    (a filter of ``layersadmin.templatetags.dashboard``)."""

    name: str  # the CreativeFigures column
    label: str
    board: tuple[str, str]  # (item section, field)
    row: tuple[str, str]  # (row block, field)
    format: str
    csv: str  # the CSV header: the API's own field name

    @property
    def metric(self) -> str | None:
        """The top-performers metric that ranks on this figure, if any."""
        return self.name if self.name in METRICS else None


FIGURES = (
    Figure(
        "views", "Views", ("organic", "views"), ("organicPerformance", "views"), "compact", "views"
    ),
    Figure(
        "engagement_rate",
        "Engagement rate",
        ("organic", "engagementRate"),
        ("organicPerformance", "engagementRate"),
        "percent",
        "engagementRate",
    ),
    Figure(
        "watch_time_ms",
        "Watch time",
        ("organic", "watchTimeMs"),
        ("organicPerformance", "watchTimeMs"),
        "duration",
        "watchTimeMs",
    ),
    Figure("spend", "Spend", ("paid", "spend"), ("adPerformance", "spend"), "amount", "spend"),
    Figure(
        "conversions",
        "Conversions",
        ("paid", "conversions"),
        ("adPerformance", "conversions"),
        "integer",
        "conversions",
    ),
    Figure("roas", "ROAS", ("paid", "roas"), ("adPerformance", "roas"), "times", "roas"),
    Figure("cpa", "CPA", ("paid", "cpa"), ("adPerformance", "cpa"), "amount", "cpa"),
)
FIGURE_NAMES = tuple(figure.name for figure in FIGURES)
# Amounts the API gives without a currency (seed 000's `spend` 412.00, `cpa` 4.68): shown as
# given, and the page says so.
AMOUNT_FIGURES = tuple(figure.name for figure in FIGURES if figure.format == "amount")

# --- Words of the override pages (seed 001 PATCH ads-content; seed 003 archival) --------------
# Templates read WORDS through ``{% load creative_words %}`` (``{% creative_word "key" %}``);
# the services and views import the names.

OVERRIDE_STATES = {"include": "Included", "exclude": "Excluded", "": "none"}

# Seed 001: "exclude — ineligible regardless of score … Ads currently running against it are
# not paused … Pause them in the platform's ad manager." Also: it applies on every platform.
EXCLUDE_QUESTION = "Exclude this creative from ads?"
EXCLUDE_RUNNING_ADS = (
    "Excluding takes it out of future ad selection on every platform. Ads already running "
    "with it are not paused: they keep running until you pause them in the platform's ad "
    "manager."
)
EXCLUDE_CONFIRM = "Exclude"
EXCLUDE_CANCEL = "Keep as is"

# Seed 003: an archived project keeps its data for reading; the API refuses an override on it
# (409 CONFLICT), so none is offered and the server refuses one before sending anything.
ARCHIVED_NO_OVERRIDES = (
    "This project is archived, so its overrides cannot be changed. Layers keeps an archived "
    "project's data for reading only; reactivate the project to change overrides again."
)
ARCHIVED_SHORT = "Locked: the project is archived."
ARCHIVED_REFUSED = "Nothing was changed: this project is archived, so its overrides are locked."
NOTHING_TO_CLEAR = "Nothing was changed: this creative has no override to clear."

WORDS = {
    "exclude_question": EXCLUDE_QUESTION,
    "exclude_running_ads": EXCLUDE_RUNNING_ADS,
    "exclude_confirm": EXCLUDE_CONFIRM,
    "exclude_cancel": EXCLUDE_CANCEL,
    "archived_no_overrides": ARCHIVED_NO_OVERRIDES,
    "archived_short": ARCHIVED_SHORT,
}

# --- Leaderboard movement -------------------------------------------------------------------------
# What rank and metric change are measured against; "24h" / "7d" mean the newest snapshot of
# the same board at or before that long ago (creatives.selectors.leaderboard_baseline).
BASELINES = {
    "previous": "Previous snapshot",
    "24h": "24 hours ago",
    "7d": "7 days ago",
}
BASELINE_AGES = {"24h": timedelta(hours=24), "7d": timedelta(days=7)}
DEFAULT_BASELINE = "previous"
