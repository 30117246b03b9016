"""Projects (one per end-customer) and the record of what the sync did."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse

from layersadmin.models import SyncedModel


class Project(SyncedModel):
    """A Layers project (`GET /v1/projects/{id}`): one end-customer of the agency."""

    class Status(models.TextChoices):
        ACTIVE = "active"
        ARCHIVED = "archived"

    name = models.CharField(max_length=255)
    customer_external_id = models.CharField(max_length=255, blank=True, default="", db_index=True)
    # No `choices` enforcement in the database: an unknown status from the API is stored as is.
    status = models.CharField(max_length=32, default=Status.ACTIVE, db_index=True)
    timezone = models.CharField(max_length=64, default="UTC")
    primary_language = models.CharField(max_length=35, blank=True, default="")
    organization_id = models.CharField(max_length=64, blank=True, default="")
    owner_email = models.CharField(max_length=254, blank=True, default="")
    created_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(null=True, blank=True)

    # Local-only state: the sync never writes these.
    account_managers = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        related_name="assigned_projects",
        blank=True,
        help_text="Account managers who see this project in the dashboard (local to layersadmin).",
    )

    # Sync bookkeeping for this project (written by the sync, not mirrored from the API).
    content_watermark = models.DateTimeField(
        null=True, blank=True, help_text="Newest container createdAt the sync has stored."
    )
    last_sync_started_at = models.DateTimeField(null=True, blank=True)
    last_sync_ok_at = models.DateTimeField(null=True, blank=True)
    last_sync_error = models.TextField(blank=True, default="")
    # When each kind was last read completely for this project (a step that finished): what
    # decides whether it is due (``sync_layers`` without arguments) and its freshness.
    content_read_at = models.DateTimeField(null=True, blank=True)
    creatives_read_at = models.DateTimeField(null=True, blank=True)
    creatives_full_at = models.DateTimeField(
        null=True, blank=True, help_text="Last complete walk of the scored creatives."
    )
    boards_read_at = models.DateTimeField(null=True, blank=True)

    # What the project list shows of each project, stored so that page reads one row per
    # project instead of counting 200k rows per request. Derived from the mirrored rows by
    # ``projects.services.counts.project_counts_refresh`` after each project's sync and
    # after an override changes a creative.
    content_count = models.PositiveIntegerField(default=0)
    scored_count = models.PositiveIntegerField(default=0)
    eligible_count = models.PositiveIntegerField(default=0)
    top_creative_id = models.CharField(
        max_length=64, null=True, blank=True, help_text="Layers id of the best eligible creative."
    )
    top_creative_title = models.CharField(max_length=500, blank=True, default="")
    top_creative_score = models.FloatField(null=True, blank=True)
    top_creative_thumbnail = models.URLField(max_length=1000, blank=True, default="")

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["key"], name="project_unique_key"),
        ]
        permissions = [
            ("view_all_projects", "Can see every project, not only assigned ones"),
            ("sync_project", "Can start a sync of a project"),
        ]

    def __str__(self) -> str:
        return self.name or self.layers_id

    def get_absolute_url(self) -> str:
        return reverse("project_detail", kwargs={"project_id": self.layers_id})

    @property
    def is_archived(self) -> bool:
        return self.status == self.Status.ARCHIVED


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
    trigger = models.CharField(max_length=32, default="command", help_text="command, admin, demo")
    triggered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="sync_runs",
    )
    full = models.BooleanField(default=False)
    projects_listed_at = models.DateTimeField(
        null=True, blank=True, help_text="When this run finished walking the projects list."
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
    """A background task a person started (``projects.tasks``): who started it and what for.

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
