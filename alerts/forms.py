"""Forms of the alert pages: a person's settings, a project's mute, marking read."""

from __future__ import annotations

import zoneinfo
from functools import lru_cache

from django import forms

from alerts import vocabulary as v


@lru_cache(maxsize=1)
def known_timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


class AlertPreferenceForm(forms.Form):
    """Which rules to follow, the digest, and the timezone times are shown in."""

    rules = forms.MultipleChoiceField(
        label="Rules you follow",
        required=False,  # none ticked: follow none (the bell stays quiet)
        choices=[(rule, v.RULE_LABELS[rule]) for rule in v.RULES],
        widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": "Pick rules from the list."},
    )
    digest = forms.ChoiceField(
        label="Digest e-mail",
        choices=list(v.DIGEST_LABELS.items()),
        widget=forms.RadioSelect,
        error_messages={
            "required": "Choose a digest: off, daily or weekly.",
            "invalid_choice": "Choose a digest: off, daily or weekly.",
        },
    )
    timezone = forms.CharField(
        label="Timezone",
        required=False,
        max_length=64,
        help_text="Empty: each project's own timezone.",
        widget=forms.TextInput(
            attrs={"list": "timezones", "autocomplete": "off", "placeholder": "Project's own"}
        ),
    )

    def clean_timezone(self) -> str:
        value = (self.cleaned_data.get("timezone") or "").strip()
        if value and value not in known_timezones():
            raise forms.ValidationError(v.UNKNOWN_TIMEZONE)
        return value


class ProjectMuteForm(forms.Form):
    """Mute one of your projects for 1, 7 or 30 days, or unmute it (0)."""

    project = forms.CharField(
        max_length=64, error_messages={"required": "Name the project to mute."}
    )
    days = forms.ChoiceField(
        choices=[*v.MUTE_LABELS.items(), (v.UNMUTE, "Unmute")],
        error_messages={
            "required": "Choose 1, 7 or 30 days, or unmute.",
            "invalid_choice": "Choose 1, 7 or 30 days, or unmute.",
        },
    )

    def clean_project(self) -> str:
        value = self.cleaned_data["project"]
        if "\x00" in value:
            raise forms.ValidationError("Name the project to mute.")
        return value


class MarkReadForm(forms.Form):
    """One notification (``notification``) or all of them (``all``)."""

    notification = forms.IntegerField(required=False, min_value=1, max_value=2**62)
    all = forms.BooleanField(required=False)
    next = forms.CharField(required=False, max_length=2000)

    def clean(self):
        data = super().clean()
        if not self.errors and not data.get("all") and data.get("notification") is None:
            raise forms.ValidationError("Choose a notification to mark as read, or all.")
        return data
