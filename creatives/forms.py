"""Forms for the creative pages: filters (GET), leaderboard controls and the override (POST)."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator

from creatives.notes import NOTE_MAX_LENGTH, note_length, note_normalise, note_too_long_message
from creatives.selectors import (
    OVERRIDE_STATES,
    SORTS,
    WATCHLISTS,
    InvalidCursor,
    creative_cursor_parse,
    gallery_cursor_parse,
)
from creatives.services import METRICS, WINDOWS
from projects.forms import QueryForm

CURSOR_MESSAGE = "That link to a later page is not valid (any more); showing the first page."
EARLIEST, LATEST = dt.date(2000, 1, 1), dt.date(2100, 12, 31)

METRIC_LABELS = {  # the API's METRICS, as people say them
    "views": "Views",
    "engagement_rate": "Engagement rate",
    "conversions": "Conversions",
    "roas": "ROAS",
    "watch_time_ms": "Watch time",
}
WINDOW_LABELS = {"7d": "7 days", "30d": "30 days", "90d": "90 days"}
SOURCE_TYPES = {
    "content_container": "Generated",
    "platform_post": "UGC posts",
    "manual": "Manual uploads",
}
PLATFORMS = {
    "instagram": "Instagram",
    "tiktok": "TikTok",
    "youtube": "YouTube",
    "meta_ads": "Meta ads",
    "tiktok_ads": "TikTok ads",
    "apple_ads": "Apple ads",
}


def _date_field(label: str) -> forms.DateField:
    return forms.DateField(
        label=label,
        required=False,
        validators=[
            MinValueValidator(EARLIEST, "Pick a date in 2000 or later."),
            MaxValueValidator(LATEST, "Pick a date before 2101."),
        ],
        widget=forms.DateInput(attrs={"type": "date", "min": "2000-01-01", "max": "2100-12-31"}),
    )


class GalleryFilterForm(QueryForm):
    status = forms.MultipleChoiceField(
        label="Status", required=False, widget=forms.CheckboxSelectMultiple
    )
    format = forms.MultipleChoiceField(
        label="Format", required=False, widget=forms.CheckboxSelectMultiple
    )
    creativeType = forms.ChoiceField(label="Creative type", required=False)
    since = _date_field("Created from")
    until = _date_field("Created until")
    cursor = forms.CharField(required=False, max_length=512, widget=forms.HiddenInput)

    def __init__(self, data=None, *, choices: dict[str, list[str]], **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        self.fields["status"].choices = [(v, v) for v in choices["status"]]
        self.fields["format"].choices = [(v, v) for v in choices["format"]]
        self.fields["creativeType"].choices = [("", "Any type")] + [
            (v, v) for v in choices["creative_type"]
        ]

    def clean_cursor(self) -> tuple | None:
        cursor = self.cleaned_data.get("cursor")
        if not cursor:
            return None
        try:
            return gallery_cursor_parse(cursor)
        except InvalidCursor:
            raise forms.ValidationError(CURSOR_MESSAGE) from None

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            self.add_error("until", "The end date is before the start date.")
        return data


class CreativeFilterForm(QueryForm):
    pool = forms.ChoiceField(label="Pool", required=False)
    override = forms.ChoiceField(
        label="Override",
        required=False,
        choices=[("", "Any")] + list(OVERRIDE_STATES.items()),
    )
    eligible = forms.ChoiceField(
        label="Eligible",
        required=False,
        choices=[("", "Any"), ("yes", "Eligible"), ("no", "Not eligible")],
    )
    minScore = forms.FloatField(
        label="Min score",
        required=False,
        min_value=0,
        max_value=10,
        widget=forms.NumberInput(attrs={"step": "0.1", "inputmode": "decimal"}),
    )
    sort = forms.ChoiceField(
        label="Sort",
        required=False,
        initial="score_desc",
        choices=[(k, label) for k, (label, _order) in SORTS.items()],
    )
    watch = forms.ChoiceField(
        label="Watchlist",
        required=False,
        choices=[("", "All creatives")] + list(WATCHLISTS.items()),
    )
    cursor = forms.CharField(required=False, max_length=512, widget=forms.HiddenInput)

    def __init__(self, data=None, *, pools: list[str], **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        self.fields["pool"].choices = [("", "Any pool")] + [(p, p) for p in pools]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        cursor = data.get("cursor")
        if cursor:
            try:
                data["cursor"] = creative_cursor_parse(cursor, data.get("sort") or "score_desc")
            except InvalidCursor:
                self.add_error("cursor", CURSOR_MESSAGE)
        else:
            data["cursor"] = None
        return data

    def selector_kwargs(self) -> dict[str, Any]:
        v = self.values()
        return {
            "pool": v["pool"],
            "override": v["override"],
            "eligible": {"yes": True, "no": False}.get(v["eligible"]),
            "min_score": v["minScore"],
            "watch": v["watch"],
            "sort": v["sort"],
        }


class LeaderboardForm(QueryForm):
    """The leaderboard controls; names and values are the API's own query parameters."""

    metric = forms.ChoiceField(
        label="Metric",
        required=False,
        initial="views",
        choices=[(m, METRIC_LABELS.get(m, m)) for m in METRICS],
    )
    window = forms.ChoiceField(
        label="Window",
        required=False,
        initial="30d",
        choices=[(w, WINDOW_LABELS.get(w, w)) for w in WINDOWS],
    )
    sourceType = forms.MultipleChoiceField(
        label="Source",
        required=False,
        choices=list(SOURCE_TYPES.items()),
        widget=forms.CheckboxSelectMultiple,
    )
    platform = forms.MultipleChoiceField(
        label="Platform",
        required=False,
        choices=list(PLATFORMS.items()),
        widget=forms.CheckboxSelectMultiple,
    )
    limit = forms.IntegerField(label="Rows", required=False, initial=25, min_value=1, max_value=100)
    includeIneligible = forms.BooleanField(label="Include ineligible", required=False)

    def service_kwargs(self) -> dict[str, Any]:
        v = self.values()
        return {
            "metric": v["metric"],
            "window": v["window"],
            "source_types": v["sourceType"],
            "platforms": v["platform"],
            "limit": v["limit"],
            "include_ineligible": v["includeIneligible"],
        }


class AgencyLeaderboardForm(QueryForm):
    metric = copy.deepcopy(LeaderboardForm.base_fields["metric"])
    window = copy.deepcopy(LeaderboardForm.base_fields["window"])
    limit = copy.deepcopy(LeaderboardForm.base_fields["limit"])


class OverrideForm(forms.Form):
    """One click on Include / Exclude / Clear, with an optional note (the API takes 280).

    The note's length follows creatives/notes.py (the browser's counter counts the same way):
    normalised (LF line breaks, no NULs, stripped), then emoji and other characters beyond
    U+FFFF count two.
    """

    override = forms.ChoiceField(
        choices=[("include", "Include"), ("exclude", "Exclude"), ("clear", "Clear")],
        error_messages={
            "required": "Choose include, exclude or clear.",
            "invalid_choice": "Choose include, exclude or clear.",
        },
    )
    # No max_length here: Django's would count code points of the raw text (a browser sends a
    # line break as CRLF, two of them); clean_note counts the one way (creatives/notes.py).
    # The form's own validators still refuse NULs, which notes.py only removes.
    note = forms.CharField(
        required=False,
        strip=False,  # note_normalise strips (the same set as str.strip())
        widget=forms.Textarea(attrs={"rows": 2, "data-max": NOTE_MAX_LENGTH}),
    )
    # One random token per rendered form: the same form sent twice makes the same
    # Idempotency-Key, so a double submit applies once (creative_override_set).
    form_token = forms.CharField(
        required=False,
        max_length=64,
        validators=[RegexValidator(r"^[A-Za-z0-9_-]*$", "Reload the page and try again.")],
    )
    next = forms.CharField(required=False, max_length=2000)

    def clean_note(self) -> str:
        note = note_normalise(self.cleaned_data.get("note") or "")
        length = note_length(note)
        if length > NOTE_MAX_LENGTH:
            raise forms.ValidationError(
                note_too_long_message(length),
                code="max_length",
                params={"limit_value": NOTE_MAX_LENGTH, "show_value": length},
            )
        return note

    def service_override(self) -> str:
        value = self.cleaned_data["override"]
        return "" if value == "clear" else value
