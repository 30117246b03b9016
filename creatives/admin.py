"""Admin for containers, scored creatives (with override actions), history and audit."""

from __future__ import annotations

import csv

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import StreamingHttpResponse
from django.template.response import TemplateResponse

from creatives.models import (
    AdsContent,
    BulkOverride,
    BulkOverrideItem,
    ContentContainer,
    ContentReviewAudit,
    CreativeFigures,
    LeaderboardDemand,
    LeaderboardSnapshot,
    OverrideAudit,
    ScoreSample,
)
from creatives.notes import NOTE_MAX_LENGTH
from creatives.services import creative_override_set
from creatives.vocabulary import (
    APPROVAL_LABELS,
    CONTAINER_FORMAT_LABELS,
    CONTAINER_STATUS_LABELS,
    CREATIVE_TYPE_LABELS,
    EXCLUDE_RUNNING_ADS,
    SCORING_POOL_LABELS,
    SOURCE_TYPE_LABELS,
)
from layersadmin.admin import (
    ReadOnlyModelAdmin,
    SyncedModelAdmin,
    api_label_column,
    known_values_filter,
)
from layersadmin.layers import LayersError

# The filters offer the API's documented values (creatives.vocabulary: REFERENCE 7.2, 8.4 and
# the ads-content schema), labelled as the dashboard says them.
OVERRIDES = {"include": "Included", "exclude": "Excluded", "": "none"}


@admin.register(ContentContainer)
class ContentContainerAdmin(SyncedModelAdmin):
    list_display = (
        "layers_id",
        "project",
        api_label_column("status", "container_status"),
        api_label_column("format", "format"),
        api_label_column("creative_type", "creative_type", "creative type"),
        api_label_column("approval_status", "approval_status", "approval"),
        "created_at",
    )
    list_filter = (
        known_values_filter("status", "status", CONTAINER_STATUS_LABELS),
        known_values_filter("format", "format", CONTAINER_FORMAT_LABELS),
        known_values_filter("creative_type", "creative type", CREATIVE_TYPE_LABELS),
        known_values_filter("approval_status", "approval status", APPROVAL_LABELS),
        "is_gone",
        ("created_at", admin.DateFieldListFilter),
    )
    search_fields = ("layers_id", "caption", "project__name", "project__customer_external_id")
    list_select_related = ("project",)
    raw_id_fields = ("project",)
    # No date_hierarchy: it costs a DISTINCT over every row per view (0.4 s at 100,000 rows
    # on SQLite); the date filter above asks nothing of the database to offer its choices.


def _override_action(value: str, label: str):
    def action(modeladmin, request, queryset):
        note = request.POST.get("note")
        if note is None:
            return TemplateResponse(
                request,
                "admin/creatives/adscontent/override_note.html",
                {
                    **modeladmin.admin_site.each_context(request),
                    "title": f"{label}: add a note",
                    "rows": queryset.select_related("project"),
                    "opts": modeladmin.model._meta,
                    "action": f"override_{value or 'clear'}",
                    "max_length": NOTE_MAX_LENGTH,
                    # This page is the admin's confirmation step: say what exclude leaves alone.
                    "warning": EXCLUDE_RUNNING_ADS if value == "exclude" else "",
                },
            )
        for row in queryset.select_related("project"):
            try:
                creative_override_set(
                    ads_content=row, user=request.user, override=value, note=note, source="admin"
                )
            except ValidationError as exc:
                modeladmin.message_user(request, "; ".join(exc.messages), messages.ERROR)
                return None
            except LayersError as exc:
                modeladmin.message_user(request, f"{row}: {exc}", messages.ERROR)
            else:
                modeladmin.message_user(request, f"{row}: {label.lower()} done.", messages.SUCCESS)
        return None

    action.__name__ = f"override_{value or 'clear'}"
    return admin.action(description=f"{label} (asks for a note)", permissions=["override"])(action)


@admin.register(AdsContent)
class AdsContentAdmin(SyncedModelAdmin):
    list_display = (
        "title",
        "layers_id",
        "project",
        api_label_column("scoring_pool", "scoring_pool", "scoring pool"),
        api_label_column("source_type", "source_type", "source"),
        "organic_score",
        "is_eligible",
        api_label_column("override", "override"),
        "override_set_by",
    )
    list_filter = (
        known_values_filter("scoring_pool", "scoring pool", SCORING_POOL_LABELS),
        known_values_filter("override", "override", OVERRIDES),
        "is_eligible",
        known_values_filter("source_type", "source type", SOURCE_TYPE_LABELS),
        "is_gone",
        ("scored_at", admin.DateFieldListFilter),
    )
    search_fields = ("layers_id", "title", "source_id", "project__name", "project__layers_id")
    list_select_related = ("project",)
    raw_id_fields = ("project", "container")
    # No date_hierarchy, as for containers: the date filter above costs no query.
    actions = (
        _override_action("include", "Include"),
        _override_action("exclude", "Exclude"),
        _override_action("", "Clear override"),
    )

    def has_override_permission(self, request):
        return request.user.has_perm("creatives.change_override")


@admin.register(ScoreSample)
class ScoreSampleAdmin(ReadOnlyModelAdmin):
    list_display = ("ads_content", "score", "scored_at", "observed_at")
    list_select_related = ("ads_content",)
    raw_id_fields = ("ads_content",)
    show_full_result_count = False
    search_fields = ("ads_content__layers_id",)


@admin.register(LeaderboardSnapshot)
class LeaderboardSnapshotAdmin(ReadOnlyModelAdmin):
    list_display = (
        "project",
        api_label_column("metric", "metric"),
        api_label_column("window", "window"),
        "filters_key",
        "fetched_at",
    )
    list_filter = ("metric", "window")
    list_select_related = ("project",)
    search_fields = ("project__name", "project__layers_id")
    date_hierarchy = "fetched_at"
    show_full_result_count = False
    readonly_fields = [f.name for f in LeaderboardSnapshot._meta.concrete_fields]


@admin.register(CreativeFigures)
class CreativeFiguresAdmin(ReadOnlyModelAdmin):
    """Derived from the stored boards and rows (``creatives.figures``): read-only."""

    list_display = ("ads_content", "window", "views", "spend", "conversions", "roas", "as_of")
    list_filter = ("window", "source")
    list_select_related = ("ads_content",)
    raw_id_fields = ("ads_content",)
    search_fields = ("ads_content__layers_id", "ads_content__title")
    show_full_result_count = False


@admin.register(LeaderboardDemand)
class LeaderboardDemandAdmin(ReadOnlyModelAdmin):
    """Boards people looked at beyond the configured ones (``creatives.demand``)."""

    list_display = ("project", "metric", "window", "last_viewed_at", "last_fetched_at")
    list_filter = ("metric", "window")
    list_select_related = ("project",)
    search_fields = ("project__name", "project__layers_id")
    show_full_result_count = False


class BulkOverrideItemInline(admin.TabularInline):
    """Each row of a bulk action with its own outcome (read-only: the task writes them)."""

    model = BulkOverrideItem
    fields = (
        "position",
        "ads_content",
        "before_override",
        "after_override",
        "status",
        "error_code",
        "error_message",
        "request_id",
        "finished_at",
    )
    readonly_fields = fields
    raw_id_fields = ("ads_content",)
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(BulkOverride)
class BulkOverrideAdmin(ReadOnlyModelAdmin):
    """Bulk include/exclude/clear and their undos (``creatives.bulk``): who, what, how far."""

    list_display = ("id", "kind", "action", "user", "status", "created_at", "finished_at")
    list_filter = ("kind", "action", "status")
    list_select_related = ("user",)
    search_fields = ("user__username", "note", "items__ads_content__layers_id")
    date_hierarchy = "created_at"
    show_full_result_count = False
    inlines = [BulkOverrideItemInline]


@admin.register(BulkOverrideItem)
class BulkOverrideItemAdmin(ReadOnlyModelAdmin):
    """One row of a bulk action, to find a creative's bulk history by its id."""

    list_display = ("bulk", "position", "ads_content", "after_override", "status", "error_code")
    list_filter = ("status", "after_override")
    list_select_related = ("bulk", "ads_content")
    raw_id_fields = ("bulk", "ads_content")
    search_fields = ("ads_content__layers_id", "error_code", "request_id")
    show_full_result_count = False


class _Echo:
    def write(self, value):
        return value


@admin.register(OverrideAudit)
class OverrideAuditAdmin(ReadOnlyModelAdmin):
    """Read-only for everyone, superusers included; never deletable."""

    list_display = (
        "created_at",
        "user",
        "project",
        "ads_content",
        "before_override",
        "after_override",
        "outcome",
        "error_code",
        "request_id",
    )
    list_filter = ("outcome", "source", "user", "project", "created_at")
    search_fields = ("ads_content__layers_id", "request_id", "idempotency_key", "note")
    list_select_related = ("user", "project", "ads_content")
    date_hierarchy = "created_at"
    show_full_result_count = False
    actions = ("export_csv",)

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Export selected as CSV", permissions=["view"])
    def export_csv(self, request, queryset):
        columns = [
            "created_at",
            "user__username",
            "project__layers_id",
            "ads_content__layers_id",
            "source",
            "before_override",
            "after_override",
            "note",
            "outcome",
            "error_code",
            "request_id",
            "idempotency_key",
        ]
        writer = csv.writer(_Echo())

        def rows():
            yield writer.writerow(columns)
            for values in queryset.values_list(*columns).iterator(2000):
                yield writer.writerow([_csv_safe(v) for v in values])

        response = StreamingHttpResponse(rows(), content_type="text/csv")
        response["Content-Disposition"] = 'attachment; filename="override-audit.csv"'
        return response


def _csv_safe(value):
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


@admin.register(ContentReviewAudit)
class ContentReviewAuditAdmin(ReadOnlyModelAdmin):
    """Approvals and rejections made through layersadmin: read-only for everyone (support
    has the view permission, migration 0007), superusers included; never deletable."""

    list_display = (
        "created_at",
        "user",
        "project",
        "container",
        "action",
        "before_status",
        "after_status",
        "outcome",
        "error_code",
        "request_id",
    )
    list_filter = ("action", "outcome", "source", "created_at")
    search_fields = (
        "container__layers_id",
        "project__name",
        "request_id",
        "idempotency_key",
        "text",
        "user__username",
    )
    list_select_related = ("user", "project", "container")
    raw_id_fields = ("user", "project", "container")
    date_hierarchy = "created_at"
    show_full_result_count = False

    def has_delete_permission(self, request, obj=None):
        return False
