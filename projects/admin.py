"""Admin for projects and sync runs: assignments, sync now, archive in Layers."""

from __future__ import annotations

from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.html import format_html

from layersadmin.admin import SyncedModelAdmin
from layersadmin.layers import LayersError
from projects.models import Project, SyncLease, SyncRun
from projects.services.projects import project_archive
from projects.services.sync import layers_sync


@admin.register(Project)
class ProjectAdmin(SyncedModelAdmin):
    list_display = (
        "name",
        "customer_external_id",
        "status",
        "layers_id",
        "last_sync_ok_at",
        "is_gone",
    )
    list_filter = ("status", "is_gone", "timezone")
    search_fields = ("name", "layers_id", "customer_external_id")
    date_hierarchy = "created_at"
    filter_horizontal = ("account_managers",)
    editable_fields = ("account_managers",)
    actions = ("sync_now", "archive_in_layers")

    def get_fields(self, request, obj=None):
        return ["account_managers", *self.get_readonly_fields(request, obj)]

    @admin.action(description="Sync selected projects now", permissions=["sync"])
    def sync_now(self, request, queryset):
        ids = list(queryset.values_list("layers_id", flat=True))
        result = layers_sync(project_ids=ids, trigger="admin", user=request.user)
        counts = "; ".join(
            f"{kind}: {c.created} created, {c.updated} updated, {c.unchanged} unchanged, "
            f"{c.gone} gone"
            for kind, c in result.counts.items()
        )
        level = messages.SUCCESS if result.ok else messages.ERROR
        self.message_user(request, f"Sync #{result.run.pk} {result.run.status}. {counts}", level)
        for error in result.errors[:5]:
            self.message_user(request, f"{error['where']}: {error['message']}", messages.ERROR)

    def has_sync_permission(self, request):
        return request.user.has_perm("projects.sync_project")

    @admin.action(description="Archive in Layers", permissions=["change"])
    def archive_in_layers(self, request, queryset):
        if request.POST.get("confirm") != "yes":
            return TemplateResponse(
                request,
                "admin/projects/project/archive_confirm.html",
                {
                    **self.admin_site.each_context(request),
                    "title": "Archive projects in Layers?",
                    "projects": queryset,
                    "opts": self.model._meta,
                    "action": "archive_in_layers",
                },
            )
        for project in queryset:
            try:
                project_archive(project=project)
            except LayersError as exc:
                self.message_user(request, f"{project}: {exc}", messages.ERROR)
            else:
                self.message_user(request, f"{project} archived in Layers.", messages.SUCCESS)
        return None


@admin.register(SyncRun)
class SyncRunAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "started_at",
        "status_badge",
        "trigger",
        "duration_display",
        "projects_synced",
        "api_calls",
        "retries",
        "throttled",
        "error_count",
    )
    list_filter = ("status", "trigger", "full")
    date_hierarchy = "started_at"
    list_select_related = ("triggered_by",)
    show_full_result_count = False
    readonly_fields = [f.name for f in SyncRun._meta.concrete_fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj):
        stale = (
            obj.status == SyncRun.Status.RUNNING
            and obj.heartbeat_at
            and (timezone.now() - obj.heartbeat_at).total_seconds() > 600
        )
        bad = obj.status in {"failed", "partial", "abandoned"} or stale
        label = "stale" if stale else obj.get_status_display()
        if bad:
            return format_html("<strong>⚠ {}</strong>", label)
        return label

    @admin.display(description="duration")
    def duration_display(self, obj):
        return f"{obj.duration.total_seconds():.1f}s" if obj.duration else "-"


@admin.register(SyncLease)
class SyncLeaseAdmin(admin.ModelAdmin):
    list_display = ("key", "holder", "expires_at")
