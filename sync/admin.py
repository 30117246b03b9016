"""Admin for the sync: its runs, leases and people's background tasks, and the project admin
that acts through it.

``ProjectSyncAdmin`` is ``projects.admin.ProjectAdmin`` plus what needs the sync: "Sync
selected projects now" and a first sync queued for a project created in Layers. It lives here
so that ``projects`` never imports the sync; the admin's URLs are the model's and did not move.
"""

from __future__ import annotations

import logging

from django.contrib import admin, messages
from django.utils import timezone
from django.utils.html import format_html

from layersadmin.admin import ReadOnlyModelAdmin
from projects.admin import ProjectAdmin
from projects.models import Project
from sync.models import SyncLease, SyncRun, TaskRecord
from sync.tasks import project_sync_enqueue

logger = logging.getLogger(__name__)


@admin.register(Project)
class ProjectSyncAdmin(ProjectAdmin):
    actions = ("sync_now", *ProjectAdmin.actions)

    def project_created(self, request, project: Project) -> None:
        """Queue the new project's first sync (a sync may outlive a web request) and link to
        the task's page."""
        try:
            record = project_sync_enqueue(project_ids=[project.layers_id], user=request.user)
        except Exception as exc:  # the queue (database or Redis) refused: say so, not a 500
            logger.exception("could not queue the first sync of %s", project.layers_id)
            self.message_user(
                request,
                f"{project} created in Layers; its first sync was not queued "
                f"({type(exc).__name__}): the next scheduled sync will read it.",
                messages.WARNING,
            )
            return
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


@admin.register(SyncRun)
class SyncRunAdmin(ReadOnlyModelAdmin):
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
class TaskRecordAdmin(ReadOnlyModelAdmin):
    """Background tasks people started: who, what, and the outcome last seen ("View on site"
    opens the task's status page)."""

    list_display = ("task_id", "kind", "user", "created_at", "status", "finished_at")
    list_filter = ("kind", "status")
    search_fields = ("task_id", "user__username")
    date_hierarchy = "created_at"
    list_select_related = ("user",)
    readonly_fields = [f.name for f in TaskRecord._meta.concrete_fields]
