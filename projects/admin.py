"""Admin for projects and sync runs: assignments, sync now, archive in Layers."""

from __future__ import annotations

import logging

from django.contrib import admin, messages
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from layersadmin.admin import SyncedModelAdmin
from layersadmin.layers import LayersError
from projects.admin_forms import ProjectChangeForm, ProjectCreateForm
from projects.models import Project, SyncLease, SyncRun, TaskRecord
from projects.services.projects import project_archive, project_create, project_update
from projects.tasks import project_sync_enqueue

logger = logging.getLogger(__name__)


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
                project, record = project_create(
                    name=form.cleaned_data["name"],
                    timezone_name=form.cleaned_data["timezone"],
                    customer_external_id=form.cleaned_data["customer_external_id"],
                    user=request.user,
                )
            except LayersError as exc:
                form.add_error(None, str(exc))
            else:
                self.message_user(
                    request,
                    format_html(
                        '{} created in Layers; its first sync is queued: <a href="{}">follow '
                        "it on its task page</a>.",
                        project,
                        record.get_absolute_url(),
                    ),
                    messages.SUCCESS,
                )
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
        """Queue the sync as a background task and answer at once: at the standard rate tier
        a sync outlives the web server's timeout. The message links to the task's page."""
        ids = list(queryset.values_list("layers_id", flat=True))
        try:
            record = project_sync_enqueue(project_ids=ids, user=request.user)
        except Exception as exc:  # the queue (database or Redis) refused: say so, not a 500
            logger.exception("could not queue a sync of %s", ids)
            self.message_user(
                request, f"The sync was not queued: {type(exc).__name__}.", messages.ERROR
            )
            return
        self.message_user(
            request,
            format_html(
                'Sync of {} project{} queued: <a href="{}">follow it on its task page</a>.',
                len(ids),
                "" if len(ids) == 1 else "s",
                record.get_absolute_url(),
            ),
            messages.SUCCESS,
        )

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


@admin.register(TaskRecord)
class TaskRecordAdmin(admin.ModelAdmin):
    """Background tasks people started: who, what, and the outcome last seen ("View on site"
    opens the task's status page)."""

    list_display = ("task_id", "kind", "user", "created_at", "status", "finished_at")
    list_filter = ("kind", "status")
    search_fields = ("task_id", "user__username")
    date_hierarchy = "created_at"
    list_select_related = ("user",)
    readonly_fields = [f.name for f in TaskRecord._meta.concrete_fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
