"""Admin forms that send changes to the Layers API."""

from __future__ import annotations

from zoneinfo import available_timezones

from django import forms

TIMEZONES = sorted(available_timezones())


class ProjectCreateForm(forms.Form):
    name = forms.CharField(min_length=3, max_length=30, help_text="3 to 30 characters.")
    timezone = forms.ChoiceField(choices=[(tz, tz) for tz in TIMEZONES], initial="UTC")
    customer_external_id = forms.CharField(
        max_length=255, required=False, help_text="Your handle for this customer; keep it unique."
    )


class ProjectChangeForm(forms.ModelForm):
    timezone = forms.ChoiceField(choices=[(tz, tz) for tz in TIMEZONES])
