"""What the sync did and who holds what: run records, leases and people's background tasks.

These models moved here from ``projects`` (migration ``sync.0002``): their tables were renamed
and their content types relabelled, so rows, admin history and the groups' grants carried over.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse


class SyncRun(models.Model):
    """One run of the sync (`manage.py sync_layers` or an admin action), as support sees it."""

    class Status(models.TextChoices):
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        PARTIAL = "partial", "finished with errors"
        FAILED = "failed"
        ABANDONED = "abandoned", "abandoned (process died)"

    started_at = models.DateTimeField(db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    trigger = models.CharField(
        max_length=32, default="command", help_text="command, admin, task, demo"
    )
    triggered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="sync_runs",
    )
    full = models.BooleanField(default=False)
    projects_listed_at = models.DateTimeField(
        null=True,
        blank=True,
        db_index=True,
        help_text="When this run finished walking the projects list.",
    )
    project_ids = models.JSONField(default=list, blank=True, help_text="Empty = every project.")
    host = models.CharField(max_length=255, blank=True, default="")
    pid = models.IntegerField(null=True, blank=True)
    counts = models.JSONField(
        default=dict,
        blank=True,
        help_text="Per type: created, updated, unchanged, gone.",
    )
    projects_synced = models.IntegerField(default=0)
    projects_skipped = models.IntegerField(default=0, help_text="Locked by another run.")
    api_calls = models.IntegerField(default=0)
    retries = models.IntegerField(default=0)
    throttled = models.IntegerField("429s", default=0)
    error_count = models.IntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        get_latest_by = "started_at"

    def __str__(self) -> str:
        return f"Sync #{self.pk} {self.started_at:%Y-%m-%d %H:%M} {self.status}"

    @property
    def duration(self):
        if self.finished_at is None:
            return None
        return self.finished_at - self.started_at


class SyncLease(models.Model):
    """A lease that keeps two syncs off the same project where advisory locks do not exist.

    PostgreSQL uses `pg_try_advisory_lock` instead; SQLite (one host) uses these rows. An
    expired lease (its holder died) can be taken over.
    """

    key = models.CharField(max_length=128, unique=True)
    holder = models.CharField(max_length=255)
    expires_at = models.DateTimeField()

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return f"{self.key} held by {self.holder}"


class TaskRecord(models.Model):
    """A background task a person started (``sync.tasks``): who started it and what for.

    Task backends know a task's state but not who enqueued it; this row answers that, so the
    status page (``task_status``) shows a task only to that person or to staff who see every
    project, and support has a list of them in admin. ``status``/``result`` keep the last
    outcome seen (a backend without result lookup, ``immediate``, or a result pruned since).
    """

    class Kind(models.TextChoices):
        SYNC = "sync", "sync projects"
        PROJECT_REFETCH = "project_refetch", "re-fetch project"
        CONTAINER_REFETCH = "container_refetch", "re-fetch container"

    task_id = models.CharField(max_length=64, unique=True, help_text="The task backend's id.")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="task_records",
    )
    project_ids = models.JSONField(default=list, blank=True, help_text="Layers ids it works on.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    status = models.CharField(
        max_length=16, blank=True, default="", help_text="Last seen: queued, running, done, failed."
    )
    result = models.JSONField(null=True, blank=True, help_text="The task's summary when done.")
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.task_id}"

    def get_absolute_url(self) -> str:
        return reverse("task_status", kwargs={"task_id": self.task_id})
