"""Projects (one per end-customer): the bottom of the domain, with access and timezones."""

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
    # ``creatives.counts.project_counts_refresh`` after each project's sync and
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
