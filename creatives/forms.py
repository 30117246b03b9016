"""Forms for the creative pages: filters (GET), leaderboard controls and the override (POST)."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator

from creatives.notes import NOTE_MAX_LENGTH, note_length, note_normalise, note_too_long_message
from creatives.selectors import (
    CURSOR_MAX_LENGTH,
    DEFAULT_WINDOW,
    OVERRIDE_STATES,
    WATCHLISTS,
    InvalidCursor,
    creative_cursor_parse,
    gallery_cursor_parse,
)
from creatives.table import DEFAULT_SORT, SORTS
from creatives.vocabulary import (
    BASELINES,
    CONTAINER_FORMAT_LABELS,
    CONTAINER_STATUS_LABELS,
    CREATIVE_TYPE_LABELS,
    DEFAULT_BASELINE,
    FIGURE_WINDOW_LABELS,
    IDS_INVALID,
    IDS_MAX,
    METRIC_LABELS,
    METRICS,
    PLATFORM_LABELS,
    SCORING_POOL_LABELS,
    SOURCE_TYPE_LABELS,
    WINDOW_LABELS,
    WINDOWS,
)
from layersadmin.formatting import prettify
from projects.forms import QueryForm

CURSOR_MESSAGE = "That link to a later page is not valid (any more); showing the first page."
EARLIEST, LATEST = dt.date(2000, 1, 1), dt.date(2100, 12, 31)
# Sorting on a ratio (ROAS, CPA) keeps out creatives under these unless the page says otherwise.
RATIO_SORTS = ("roas", "cpa")
RATIO_DEFAULTS = {"minSpend": 10.0, "minConversions": 1.0}

SOURCE_TYPES = SOURCE_TYPE_LABELS
PLATFORMS = PLATFORM_LABELS


def _labelled(values: list[str], labels: dict[str, str]) -> list[tuple[str, str]]:
    return [(v, labels.get(v) or prettify(v)) for v in values]


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
        # The API's values, as people say them (vocabulary; an unknown one prettified).
        self.fields["status"].choices = _labelled(choices["status"], CONTAINER_STATUS_LABELS)
        self.fields["format"].choices = _labelled(choices["format"], CONTAINER_FORMAT_LABELS)
        self.fields["creativeType"].choices = [("", "Any type")] + _labelled(
            choices["creative_type"], CREATIVE_TYPE_LABELS
        )

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
    window = forms.ChoiceField(
        label="Figures over",
        required=False,
        initial=DEFAULT_WINDOW,
        choices=list(FIGURE_WINDOW_LABELS.items()),
    )
    # Empty: none, or the ratio sort's default (RATIO_DEFAULTS); 0 turns that default off.
    minSpend = forms.FloatField(
        label="Min spend",
        required=False,
        min_value=0,
        max_value=1e12,
        widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
    )
    minConversions = forms.FloatField(
        label="Min conversions",
        required=False,
        min_value=0,
        max_value=1e12,
        widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
    )
    sort = forms.ChoiceField(
        label="Sort",
        required=False,
        initial=DEFAULT_SORT,
        choices=[(name, sort.label) for name, sort in SORTS.items()],
    )
    watch = forms.ChoiceField(
        label="Watchlist",
        required=False,
        choices=[("", "All creatives")] + list(WATCHLISTS.items()),
    )
    cursor = forms.CharField(required=False, max_length=CURSOR_MAX_LENGTH, widget=forms.HiddenInput)
    # Exactly these creatives (comma-separated ads-content ids, any id form): an alert's link.
    ids = forms.CharField(required=False, max_length=IDS_MAX * 66, widget=forms.HiddenInput)

    def __init__(self, data=None, *, pools: list[str], **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        self.fields["pool"].choices = [("", "Any pool")] + _labelled(pools, SCORING_POOL_LABELS)
        defaults = self.ratio_defaults()
        for name, value in defaults.items():  # shown in the empty box, not sent back
            self.fields[name].widget.attrs["placeholder"] = f"{value:g}"
            self.fields[name].widget.attrs["title"] = (
                f"{value:g} while sorting by ROAS or CPA unless you set it (0: none)"
            )

    def clean_ids(self) -> list[str]:
        ids: list[str] = []
        for part in (self.cleaned_data.get("ids") or "").split(","):
            part = part.strip()
            if not part:
                continue
            if len(part) > 64 or any(ord(c) < 32 for c in part):
                raise forms.ValidationError(IDS_INVALID.format(max=IDS_MAX))
            if part not in ids:
                ids.append(part)
        if len(ids) > IDS_MAX:
            raise forms.ValidationError(IDS_INVALID.format(max=IDS_MAX))
        return ids

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        cursor = data.get("cursor")
        if cursor:
            try:
                data["cursor"] = creative_cursor_parse(cursor, data.get("sort") or DEFAULT_SORT)
            except InvalidCursor:
                self.add_error("cursor", CURSOR_MESSAGE)
        else:
            data["cursor"] = None
        return data

    def ratio_defaults(self) -> dict[str, float]:
        """The minimums a ratio sort (ROAS, CPA) applies when none is given: a ratio over
        almost no spend or no conversion is noise at the top of the ranking."""
        sort = self.values()["sort"]
        ratio = any(sort.startswith(f"{name}_") for name in RATIO_SORTS)
        return {
            name: value
            for name, value in RATIO_DEFAULTS.items()
            if ratio and self.values()[name] is None
        }

    def selector_kwargs(self) -> dict[str, Any]:
        v = {**self.values(), **self.ratio_defaults()}
        return {
            "pool": v["pool"],
            "override": v["override"],
            "eligible": {"yes": True, "no": False}.get(v["eligible"]),
            "min_score": v["minScore"],
            "watch": v["watch"],
            "sort": v["sort"],
            "window": v["window"],
            "min_spend": v["minSpend"] or None,  # 0: no minimum
            "min_conversions": v["minConversions"] or None,
            "ids": v["ids"] or None,
        }

    def query(self, **changes: Any) -> str:
        """The page's query string as it is in use: the valid values given, never an empty
        parameter nor a cursor (what the address bar, the sort links and the export carry).
        Defaults that depend on the sort stay implicit, so changing the sort changes them."""
        self.is_valid()
        params: list[tuple[str, str]] = []
        for name in self.fields:
            if name == "cursor" or name in self.errors:
                continue
            if name in changes:
                values = [changes[name]]
            else:
                values = self.data.getlist(name) if name in self.data else []
            for value in values:
                if value not in (None, "") and not (
                    name in ("window", "sort") and value == self.fields[name].initial
                ):
                    params.append((name, str(value)))
        return urlencode(params)


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
    # What rank and metric change are measured against (a page control, not an API one).
    baseline = forms.ChoiceField(
        label="Compare with",
        required=False,
        initial=DEFAULT_BASELINE,
        choices=list(BASELINES.items()),
    )

    def baseline_choice(self) -> str:
        return self.values()["baseline"] or DEFAULT_BASELINE

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
    # "exclude" once the person confirmed an exclusion (the dialog's confirm, or the
    # confirmation step without JavaScript); an exclude without it is asked about first.
    confirmed = forms.CharField(required=False, max_length=16)

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

    def needs_confirmation(self) -> bool:
        """An exclusion not confirmed yet (running ads keep running: vocabulary.py)."""
        return self.cleaned_data["override"] == "exclude" and (
            self.cleaned_data.get("confirmed") != "exclude"
        )
