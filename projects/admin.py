"""Admin for projects and sync runs: assignments, sync now, archive in Layers."""

from __future__ import annotations

from django.contrib import admin, messages
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from layersadmin.admin import SyncedModelAdmin
from layersadmin.layers import LayersError
from projects.admin_forms import ProjectChangeForm, ProjectCreateForm
from projects.models import Project, SyncLease, SyncRun
from projects.services.projects import project_archive, project_create, project_update
from projects.services.sync import layers_sync


@admin.register(Project)
class ProjectAdmin(SyncedModelAdmin):
    list_display = (
        "name",
        "customer_external_id",
        "status",
        "layers_id",
        "content_count",
        "scored_count",
        "last_sync_ok_at",
        "is_gone",
    )
    list_filter = ("status", "is_gone", "timezone")
    search_fields = ("name", "layers_id", "customer_external_id")
    date_hierarchy = "created_at"
    filter_horizontal = ("account_managers",)
    editable_fields = ("account_managers", "name", "timezone", "customer_external_id")
    api_fields = {
        "name": "name",
        "timezone": "timezone",
        "customer_external_id": "customerExternalId",
    }
    form = ProjectChangeForm
    actions = ("sync_now", "archive_in_layers")
    change_list_template = "admin/projects/project/change_list.html"

    def get_fields(self, request, obj=None):
        editable = ["name", "timezone", "customer_external_id", "account_managers"]
        return [*editable, *self.get_readonly_fields(request, obj)]

    def save_model(self, request, obj, form, change):
        """Name, timezone and customer id are mirrored: they change through PATCH."""
        changes = {
            api: form.cleaned_data[field]
            for field, api in self.api_fields.items()
            if field in form.changed_data
        }
        if changes:
            original = Project.objects.get(pk=obj.pk)
            try:
                project_update(project=original, changes=changes)
            except LayersError as exc:
                self.message_user(request, f"Not changed in Layers: {exc}", messages.ERROR)
        # Local fields only; mirrored ones now come from the API's answer.

    def save_related(self, request, form, formsets, change):
        form.instance.refresh_from_db()
        form.instance.account_managers.set(form.cleaned_data["account_managers"])

    def get_urls(self):
        custom = [
            path(
                "create-in-layers/",
                self.admin_site.admin_view(self.create_in_layers),
                name="projects_project_create_in_layers",
            )
        ]
        return custom + super().get_urls()

    def create_in_layers(self, request):
        if not self.has_change_permission(request):
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied
        form = ProjectCreateForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                project = project_create(
                    name=form.cleaned_data["name"],
                    timezone_name=form.cleaned_data["timezone"],
                    customer_external_id=form.cleaned_data["customer_external_id"],
                    user=request.user,
                )
            except LayersError as exc:
                form.add_error(None, str(exc))
            else:
                self.message_user(request, f"{project} created in Layers and synced.")
                return redirect(reverse("admin:projects_project_change", args=[project.pk]))
        return TemplateResponse(
            request,
            "admin/projects/project/create_in_layers.html",
            {
                **self.admin_site.each_context(request),
                "title": "Create project in Layers",
                "form": form,
                "opts": self.model._meta,
            },
        )

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
