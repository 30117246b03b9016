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

# --- The API's enumerated values, as people say them -------------------------------------------
# ``{{ value|api_label:"kind" }}`` (layersadmin.templatetags.dashboard) shows these with the raw
# value in a tooltip; forms and admin filters offer them. Registered at start-up
# (CreativesConfig.ready -> layersadmin.formatting.labels_register). A value not listed (one
# the API adds later) reads as its prettified raw value.
# ads-content / top-performers `sourceType` (REFERENCE 8.6, 8.8): named as the categories the
# leaderboard's source filter offers, so one word serves a row and a filter.
SOURCE_TYPE_LABELS = {
    "content_container": "Generated",
    "platform_post": "UGC posts",
    "manual": "Manual uploads",
}
PLATFORM_LABELS = {  # organic platforms and ad platforms (`platform`, `activePromotions`)
    "instagram": "Instagram",
    "tiktok": "TikTok",
    "youtube": "YouTube",
    "meta_ads": "Meta ads",
    "tiktok_ads": "TikTok ads",
    "apple_ads": "Apple Search Ads",
}
# Content containers (REFERENCE 7.2, 7.3, 8.4; where two pages disagree, both spellings).
CONTAINER_STATUS_LABELS = {
    "queued": "Queued",
    "processing": "Processing",
    "generating": "Generating",
    "completed": "Completed",
    "failed": "Failed",
    "canceled": "Canceled",
}
CONTAINER_FORMAT_LABELS = {
    "slideshow-builder": "Slideshow builder",
    "ugc-remix": "UGC remix",
    "video-remix": "Video remix",
    "slideshow-remix": "Slideshow remix",
    "video_remix": "Video remix",
    "slideshow_remix": "Slideshow remix",
    "ugc_remix": "UGC remix",
    "auto": "Automatic",
}
CREATIVE_TYPE_LABELS = {"generated": "Generated", "uploaded": "Uploaded"}
APPROVAL_LABELS = {
    "not_required": "No approval needed",
    "pending": "Awaiting approval",
    "approved": "Approved",
    "rejected": "Rejected",
}
SCORING_POOL_LABELS = {"generated": "Generated", "ugc": "UGC", "manual": "Manual"}
OVERRIDE_LABELS = {"include": "Included", "exclude": "Excluded", "": "None"}

API_LABELS = {
    "source_type": SOURCE_TYPE_LABELS,
    "platform": PLATFORM_LABELS,
    "container_status": CONTAINER_STATUS_LABELS,
    "format": CONTAINER_FORMAT_LABELS,
    "creative_type": CREATIVE_TYPE_LABELS,
    "approval_status": APPROVAL_LABELS,
    "scoring_pool": SCORING_POOL_LABELS,
    "override": OVERRIDE_LABELS,
    "metric": METRIC_LABELS,
    "window": FIGURE_WINDOW_LABELS,
}

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

# Seed 000 / 001 give `spend` and `cpa` as bare numbers and document no currency: shown as
# given (layersadmin.formatting.amount), and each page that shows one says so once.
AMOUNTS_NOTE = "Spend and CPA are shown as Layers gives them: the API documents no currency."

WORDS = {
    "amounts_note": AMOUNTS_NOTE,
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

# --- The creatives table filtered to an alert's creatives (``?ids=``) -------------------------
IDS_MAX = 200  # ads-content ids one ``ids`` filter takes (an alert's link names at most 100)
IDS_CHIP = "Showing {count} creative{plural} from an alert"
IDS_CHIP_REMOVE = "Show all creatives"
IDS_INVALID = "List up to {max} creative ids, separated by commas."

# --- Row changes from the decision tables, and bulk actions (creatives.bulk) ------------------
# Seed 001: "include — eligible regardless of score, pool, or decay"; null "clears the
# override. Eligibility follows the score again."
INCLUDE_QUESTION = "Include this creative in ads?"
INCLUDE_EXPLAINED = "Including makes it eligible for ads whatever its score, pool or decay."
CLEAR_QUESTION = "Clear this creative's override?"
CLEAR_EXPLAINED = "Clearing the override lets its score decide its eligibility again."
BULK_EXCLUDE_QUESTION = "Exclude the selected creatives from ads?"
WORDS.update(
    {
        "include_question": INCLUDE_QUESTION,
        "include_explained": INCLUDE_EXPLAINED,
        "clear_question": CLEAR_QUESTION,
        "clear_explained": CLEAR_EXPLAINED,
        "bulk_exclude_question": BULK_EXCLUDE_QUESTION,
    }
)
# What a bulk action does, as its progress says it ("Included 3 of 4").
BULK_ACTION_LABELS = {
    "include": "Include",
    "exclude": "Exclude",
    "clear": "Clear the override of",
    "undo": "Undo: put back",
}
BULK_DONE_LABELS = {
    "include": "Included",
    "exclude": "Excluded",
    "clear": "Cleared",
    "undo": "Put back",
}
# A bulk action refused before anything was stored or sent (creatives.bulk.BulkRefused.code).
BULK_REFUSALS = {
    "NO_PERMISSION": "You may not change overrides.",
    "BAD_ACTION": "Choose include, exclude or clear.",
    "NOTHING_SELECTED": "Nothing was sent: tick the rows to change first.",
    "TOO_MANY": "Nothing was sent: at most {limit} rows at once.",
    "NOT_VISIBLE": "Nothing was sent: a selected creative is not one you can change (gone, "
    "or in a project that is not yours). Reload the page.",
    "ARCHIVED": "Nothing was sent: a selected creative is in an archived project, whose "
    "overrides are locked.",
    "NOT_RESUMABLE": "It is not stopped: nothing to resume.",
    "NOT_UNDOABLE": "Only a finished bulk action can be undone.",
    "UNDO_EXPIRED": "Too late to undo: Undo is possible for 30 minutes after the change.",
    "UNDONE_ALREADY": "It was undone already.",
    "CHANGED_SINCE": "Not undone: the override was changed again since.",
}
# Why a row of a bulk action failed or was skipped, by its code (BulkOverrideItem.error_code:
# the API's code, or ours); the API's own message is shown after these words.
BULK_ERROR_WORDS = {
    "UNCHANGED": "Already so: nothing was sent.",
    "NOTHING_TO_CLEAR": "No override to clear: nothing was sent.",
    "CHANGED_SINCE": "Changed again since: left as it is.",
    "PROJECT_ARCHIVED": "The project is archived: its overrides are locked.",
    "NOT_FOUND": "Layers no longer has this creative: the next sync marks it gone.",
    "CUSTOMER_MISMATCH": "The project's customer does not match upstream: nothing was changed.",
    "CUSTOMER_MISSING_UPSTREAM": "Layers names no customer for the project: nothing was changed.",
    "OVERRIDE_IN_PROGRESS": "Another change to it was still being sent: nothing was changed.",
    "OUTCOME_UNKNOWN": "No answer from Layers: it may or may not have been applied.",
    "UNAVAILABLE": "No answer from Layers: it may or may not have been applied.",
    "VALIDATION": "Layers refused the note or value: nothing was changed.",
    "FORBIDDEN_SCOPE": "The API key lacks the ads:write scope: nothing was changed.",
    "OTHER": "Layers refused: nothing was changed.",
}

# --- Content review (creatives/review.py, review_views.py) ---------------------------------------
# REFERENCE 8.5: approving cannot be undone and promotes the scheduled posts waiting for it; a
# rejection needs a reason. One dialog per page (partials/review_dialog.html) and the page that
# asks without JavaScript (review_confirm.html) say it in these words.
WORDS.update(
    {
        "approve_question": "Approve this content?",
        "approve_warning": "Approval cannot be undone.",
        "approve_publishes": "Scheduled posts waiting for this approval may publish right away.",
        "approve_note_label": "Note (optional, at most {max} characters; emoji count as two)",
        "approve_confirm": "Yes, approve",
        "reject_question": "Reject this content?",
        "reject_explained": "Layers keeps it from publishing and records your reason.",
        "reject_reason_label": "Reason (required, at most {max} characters; emoji count as two)",
        "reject_confirm": "Reject",
        "review_cancel": "Keep waiting",
    }
)
