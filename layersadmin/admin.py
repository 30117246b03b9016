"""A base ModelAdmin for rows mirrored from the Layers API (dj-stripe's habit).

Mirrored fields are read-only (the sync owns them; changes go through the API), rows are
neither added nor deleted here (the sync marks them gone), the raw payload is shown
pretty-printed and escaped, and big changelists skip the full-table COUNT.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.urls import NoReverseMatch
from django.utils.html import format_html

from layersadmin.models import SavedView
from layersadmin.templatetags.dashboard import api_label


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


def api_label_column(field: str, kind: str, description: str = "") -> Callable[[Any], str]:
    """A list_display column showing an API value as people say it, the raw value in its
    tooltip (``layersadmin.formatting.api_label``, as the dashboard's ``api_label`` filter),
    sorting on the field itself."""

    @admin.display(description=description or field.replace("_", " "), ordering=field)
    def column(obj: Any) -> str:
        return api_label(getattr(obj, field, None), kind)

    column.__name__ = f"{field}_label"
    return column


# --- saved views (layersadmin.saved_views) ------------------------------------------------------


def _saved_view_pages() -> dict[str, str]:
    from layersadmin.saved_views import PAGES

    return {name: page.label for name, page in PAGES.items()}


@admin.register(SavedView)
class SavedViewAdmin(admin.ModelAdmin):
    """People's saved views: support finds one by name or person, opens its link, fixes or
    deletes it. The rules a view keeps (its page, its project, a team of its owner, a
    normalised query) are checked here too (``SavedView.clean``)."""

    list_display = ("name", "page", "project", "owner", "visibility", "group", "updated_at", "link")
    list_filter = ("visibility",)
    list_select_related = ("owner", "project", "group")
    search_fields = ("name", "owner__username", "owner__first_name", "owner__last_name", "query")
    raw_id_fields = ("owner", "project")
    readonly_fields = ("created_at", "updated_at", "link")
    show_full_result_count = False

    def get_list_filter(self, request):
        pages = known_values_filter("page", "page", _saved_view_pages())
        return (pages, *self.list_filter)

    @admin.display(description="link")
    def link(self, obj):
        if obj.pk is None:
            return "-"
        try:
            url = obj.get_absolute_url()
        except NoReverseMatch:
            return "-"
        return format_html('<a href="{}">open the view</a>', url)
