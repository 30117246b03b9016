"""Forms that parse the dashboard's GET parameters (filters live in the URL)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import QueryDict


class QueryForm(forms.Form):
    """A filter form over ``request.GET``: a bad value is reported and ignored, never a 500.

    ``values()`` gives every field's cleaned value, or its default when the value was missing
    or invalid; ``problems`` lists what was ignored and why, for a message next to the results.
    A form is always bound, so an empty query string means "every default".
    """

    def __init__(self, data=None, **kwargs: Any) -> None:
        # A private, mutable copy: the controls then show the values actually in use.
        data = data.copy() if isinstance(data, QueryDict) else QueryDict(mutable=True)
        super().__init__(data, **kwargs)
        for name, field in self.fields.items():
            if field.initial is not None and not data.get(name):
                data[name] = field.initial

    def default(self, name: str) -> Any:
        field = self.fields[name]
        if field.initial is not None:
            return field.initial
        return field.to_python(None) if not isinstance(field, forms.DateField) else None

    def values(self) -> dict[str, Any]:
        self.is_valid()
        result = {}
        for name, field in self.fields.items():
            value = self.cleaned_data.get(name) if name not in self.errors else None
            if value in field.empty_values:
                value = self.default(name)
            if name in self.errors:  # show the value in use, not the one ignored
                self.data.setlist(name, value if isinstance(value, list) else [value or ""])
            result[name] = value
        return result

    @property
    def problems(self) -> list[str]:
        self.is_valid()
        messages = []
        for name, errors in self.errors.items():
            label = self.fields[name].label if name in self.fields else ""
            for error in errors:
                messages.append(f"{label}: {error}" if label else str(error))
        return messages

    def ignored(self, name: str) -> bool:
        return name in self.errors


class ProjectFilterForm(QueryForm):
    q = forms.CharField(
        label="Search",
        required=False,
        max_length=200,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": "Name or customer id", "autocomplete": "off"}
        ),
    )
    status = forms.ChoiceField(label="Status", required=False)

    def __init__(self, data=None, *, statuses: list[str], **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        self.fields["status"].choices = [("", "Any status")] + [(s, s.title()) for s in statuses]
