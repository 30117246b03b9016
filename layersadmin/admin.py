"""A base ModelAdmin for rows mirrored from the Layers API (dj-stripe's habit).

Mirrored fields are read-only (the sync owns them; changes go through the API), rows are
neither added nor deleted here (the sync marks them gone), the raw payload is shown
pretty-printed and escaped, and big changelists skip the full-table COUNT.
"""

from __future__ import annotations

import json

from django.contrib import admin
from django.urls import NoReverseMatch
from django.utils.html import format_html


class SyncedModelAdmin(admin.ModelAdmin):
    show_full_result_count = False
    list_per_page = 50
    readonly_extra: tuple[str, ...] = ("raw_pretty", "synced_at", "is_gone")
    editable_fields: tuple[str, ...] = ()

    def get_readonly_fields(self, request, obj=None):
        names = [f.name for f in self.model._meta.concrete_fields if f.name != "id"]
        names = [n for n in names if n not in self.editable_fields and n != "raw"]
        return [*names, "raw_pretty", "dashboard_link"]

    def get_exclude(self, request, obj=None):
        return ("raw",)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="raw payload")
    def raw_pretty(self, obj):
        return format_html("<pre>{}</pre>", json.dumps(obj.raw, indent=2, sort_keys=True))

    @admin.display(description="dashboard")
    def dashboard_link(self, obj):
        try:
            url = obj.get_absolute_url()
        except (AttributeError, NoReverseMatch):
            return "-"
        return format_html('<a href="{}">open in the dashboard</a>', url)


class ReadOnlyModelAdmin(admin.ModelAdmin):
    """Records nobody adds or edits in admin (history, audits, derived rows): viewed only.
    Deleting stays as the model's permissions say; an audit also refuses it."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


def known_values_filter(field: str, title: str, values: dict[str, str]) -> type:
    """A list filter offering the API's documented values of ``field`` (``{value: label}``;
    the value "" is offered as "none") instead of Django's default, a ``SELECT DISTINCT``
    over the whole table on every changelist view: a full scan of a table with 200,000
    mirrored rows. Values the API may add later are still found by search."""

    class KnownValuesFilter(admin.SimpleListFilter):
        parameter_name = field

        def lookups(self, request, model_admin):
            return [(value or "none", label) for value, label in values.items()]

        def queryset(self, request, queryset):
            value = self.value()
            if value is None:
                return queryset
            value = "" if value == "none" else value
            if value not in values:  # a hand-typed URL: nothing matches, never a bad query
                return queryset.none()
            return queryset.filter(**{field: value})

    KnownValuesFilter.title = title
    return KnownValuesFilter
