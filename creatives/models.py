"""Content containers, scored creatives (ads-content), their history, leaderboards and audit."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse

from creatives.vocabulary import FIGURE_NAMES, FIGURE_WINDOWS, SOURCE_BOARD, SOURCE_ROW
from layersadmin.models import SyncedModel
from projects.models import Project

# Statuses after which a container no longer changes on its own (seed 002).
FINAL_CONTAINER_STATUSES = ("completed", "failed", "canceled")
# Statuses of a container still being made (seed 002 `processing`, [A] `generating`, C9):
# only these hold the sync's content watermark back; an unknown status never does.
IN_FLIGHT_CONTAINER_STATUSES = ("queued", "processing", "generating")
ELIGIBILITY_THRESHOLD = 4.0  # organicScore >= 4.0 passes the gate (REFERENCE 7.1, seed 000)


class ContentContainer(SyncedModel):
    """A Layers content container (`GET /v1/projects/{id}/content`): one piece of creative."""

    # No index of its own on project: the gallery index below starts with it.
    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="containers", db_index=False
    )
    status = models.CharField(max_length=32)
    format = models.CharField(max_length=64, blank=True, default="")
    caption = models.TextField(blank=True, default="")
    creative_type = models.CharField(max_length=32, blank=True, default="")
    ads_enrollment = models.CharField(max_length=32, blank=True, default="")
    approval_status = models.CharField(max_length=32, blank=True, default="")
    created_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)
    # The preview object, flattened for the gallery (REFERENCE 8.4 "preview").
    preview_kind = models.CharField(max_length=16, blank=True, default="")
    preview_url = models.URLField(max_length=1000, blank=True, default="")
    thumbnail_url = models.URLField(max_length=1000, blank=True, default="")
    image_urls = models.JSONField(default=list, blank=True)
    video_url = models.URLField(max_length=1000, blank=True, default="")
    duration_ms = models.IntegerField(null=True, blank=True)
    aspect_ratio = models.CharField(max_length=16, blank=True, default="")

    class Meta:
        ordering = ["-created_at", "-layers_id"]
        constraints = [
            models.UniqueConstraint(fields=["key"], name="container_unique_key"),
        ]
        indexes = [
            # The gallery's keyset: newest first within a project.
            models.Index(fields=["project", "-created_at", "-layers_id"], name="container_gallery"),
            # The gallery's filter choices and counts per project, read from the index alone
            # (the rows are wide: their raw payload).
            models.Index(
                fields=["project", "is_gone", "status", "format", "creative_type"],
                name="container_facets",
            ),
            # The Needs review queues: pending containers across projects, newest first, read
            # in order and stopped after a page, and their (capped) count from the index alone
            # (the project last); few rows, so a partial index.
            models.Index(
                fields=["-created_at", "-layers_id", "project"],
                condition=models.Q(approval_status="pending", is_gone=False),
                name="container_pending",
            ),
        ]

    def __str__(self) -> str:
        return self.caption[:60] or self.layers_id

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_CONTAINER_STATUSES


class AdsContent(SyncedModel):
    """A scored creative (`GET /v1/projects/{id}/ads-content`, seed 001's row)."""

    class Override(models.TextChoices):
        INCLUDE = "include"
        EXCLUDE = "exclude"

    # No index of its own on project: the unique (project, key) starts with it.
    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="ads_contents", db_index=False
    )
    container = models.ForeignKey(
        ContentContainer,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="ads_contents",
        help_text="The container this creative was made from, when its source is one.",
    )
    source_type = models.CharField(max_length=32)
    source_id = models.CharField(max_length=64, blank=True, default="")
    platform_post_id = models.CharField(max_length=64, blank=True, default="")
    # What the pages show, derived by ``creatives.services.creative_display_refresh`` from
    # whatever the API gives: the row's own title / thumbnailUrl (seed 001 has none), else its
    # container (caption; preview or primaryAsset thumbnail), else its latest leaderboard row.
    title = models.CharField(max_length=500, blank=True, default="")
    thumbnail_url = models.URLField(max_length=1000, blank=True, default="")
    scoring_pool = models.CharField(max_length=32)
    organic_score = models.FloatField(db_index=True)
    scored_at = models.DateTimeField(null=True, blank=True)
    scoring_version = models.IntegerField(null=True, blank=True)
    is_eligible = models.BooleanField(default=False)
    eligibility_reason = models.CharField(max_length=255, blank=True, default="")
    override = models.CharField(max_length=16, blank=True, default="")
    override_note = models.TextField(blank=True, default="")
    override_set_by = models.CharField(max_length=255, blank=True, default="")
    override_set_at = models.DateTimeField(null=True, blank=True)
    active_promotions = models.JSONField(default=list, blank=True)
    organic_performance = models.JSONField(null=True, blank=True)
    ad_performance = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-organic_score", "-layers_id"]
        verbose_name = "scored creative"
        verbose_name_plural = "scored creatives"
        constraints = [
            models.UniqueConstraint(fields=["project", "key"], name="adscontent_unique_key"),
        ]
        indexes = [
            models.Index(fields=["project", "-organic_score", "-layers_id"], name="ads_by_score"),
            models.Index(fields=["project", "-scored_at", "-layers_id"], name="ads_by_scored_at"),
            # The agency's decision table (every project one sees) in its default order, read
            # in order and stopped after a page instead of sorting every creative.
            models.Index(fields=["-organic_score", "-layers_id"], name="ads_all_by_score"),
            # The decision table's summary (selectors.creative_summary: pools, score range,
            # watchlist counts) and the project list's counts, read from the index alone.
            models.Index(
                fields=[
                    "project",
                    "is_gone",
                    "scoring_pool",
                    "organic_score",
                    "override",
                    "is_eligible",
                ],
                name="ads_summary",
            ),
            # Overridden creatives across projects (admin's filter): few rows, so a partial
            # index, which the sync's writes of rows without an override never touch.
            models.Index(
                fields=["override"], condition=~models.Q(override=""), name="ads_overridden"
            ),
        ]
        permissions = [("change_override", "Can include or exclude a creative from ads")]

    def __str__(self) -> str:
        return self.title or self.layers_id

    def get_absolute_url(self) -> str:
        return reverse(
            "creative_detail",
            kwargs={"project_id": self.project.layers_id, "ads_content_id": self.layers_id},
        )


class ScoreSample(models.Model):
    """One observed organicScore of a scored creative; a row per change, for trend lines."""

    # No index of its own: the score_history index below starts with it.
    ads_content = models.ForeignKey(
        AdsContent, on_delete=models.CASCADE, related_name="score_samples", db_index=False
    )
    score = models.FloatField()
    scored_at = models.DateTimeField(null=True, blank=True)
    observed_at = models.DateTimeField()

    class Meta:
        ordering = ["ads_content", "observed_at", "id"]
        indexes = [models.Index(fields=["ads_content", "observed_at"], name="score_history")]

    def __str__(self) -> str:
        return f"{self.ads_content_id}: {self.score} at {self.observed_at:%Y-%m-%d %H:%M}"


class LeaderboardSnapshot(models.Model):
    """A `GET /v1/projects/{id}/top-performers` answer as fetched: metric, window, filters, items.

    Snapshots are kept (not replaced) so the dashboard can show rank movement.
    """

    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="leaderboard_snapshots"
    )
    metric = models.CharField(max_length=32)
    window = models.CharField(max_length=8)
    filters = models.JSONField(default=dict, blank=True)
    filters_key = models.CharField(
        max_length=255, blank=True, default="", help_text="Canonical form of filters for lookups."
    )
    fetched_at = models.DateTimeField(db_index=True)
    items = models.JSONField(default=list, blank=True)
    raw = models.JSONField(default=dict, blank=True)
    # The API may decline a board outright (seed 000: 422 for a paid metric with an
    # organic-only source mix). Stored as such, so pages say "not available for this mix"
    # and the sync does not fail every run on it.
    declined = models.BooleanField(default=False)
    declined_message = models.TextField(
        blank=True, default="", help_text="The API's message when it declined this board."
    )

    class Meta:
        ordering = ["-fetched_at", "-id"]
        get_latest_by = "fetched_at"
        indexes = [
            models.Index(
                fields=["project", "metric", "window", "filters_key", "-fetched_at"],
                name="leaderboard_latest",
            )
        ]

    def __str__(self) -> str:
        return f"{self.project} {self.metric} {self.window} @ {self.fetched_at:%Y-%m-%d %H:%M}"


class CreativeFigures(models.Model):
    """Local only, derived: a scored creative's performance over one window, as Layers last
    gave it (a top-performers item's ``organic``/``paid``, seed 000; or, under the window
    ``"row"``, the ads-content row's own ``organicPerformance``/``adPerformance``, seed 001).

    Written by ``creatives.figures`` only; the figure columns are ``vocabulary.FIGURES`` (a
    test keeps them equal). No row: Layers gave no figure (not in any stored board's top N).
    """

    class Source(models.TextChoices):
        BOARD = SOURCE_BOARD, "leaderboard"
        ROW = SOURCE_ROW, "ads-content row"

    # No index of its own: the unique (ads_content, window) starts with it.
    ads_content = models.ForeignKey(
        AdsContent, on_delete=models.CASCADE, related_name="figures", db_index=False
    )
    window = models.CharField(max_length=8, choices=[(w, w) for w in FIGURE_WINDOWS])
    views = models.FloatField(null=True, blank=True)
    engagement_rate = models.FloatField(null=True, blank=True)
    watch_time_ms = models.FloatField(null=True, blank=True)
    spend = models.FloatField(null=True, blank=True, help_text="As the API gives it; no currency.")
    conversions = models.FloatField(null=True, blank=True)
    roas = models.FloatField(null=True, blank=True)
    cpa = models.FloatField(null=True, blank=True, help_text="As the API gives it; no currency.")
    source = models.CharField(max_length=8, choices=Source.choices)
    as_of = models.DateTimeField(
        help_text="When Layers gave the newest of these figures (snapshot fetched, row scored)."
    )

    class Meta:
        ordering = ["ads_content", "window"]
        verbose_name = "creative figures"
        verbose_name_plural = "creative figures"
        constraints = [
            models.UniqueConstraint(fields=["ads_content", "window"], name="figures_unique_window"),
        ]
        # The creatives table sorts on any figure of one window.
        indexes = [
            models.Index(fields=["window", name], name=f"figures_by_{name}"[:30])
            for name in FIGURE_NAMES
        ]

    def __str__(self) -> str:
        return f"{self.ads_content_id} {self.window} ({self.source})"


class LeaderboardDemand(models.Model):
    """Local only (the API has no such object): someone looked at a project's leaderboard for
    one combination of controls, which keeps that board fetched and its snapshots kept.

    The combination is a ``LeaderboardSnapshot``'s key: metric, window and canonical filters
    (``filters_key``). Boards beyond the configured ones are fetched because of a row here
    (``creatives.demand``) and evicted with it after ``LAYERS_BOARD_DEMAND_DAYS`` unviewed.
    """

    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="leaderboard_demands"
    )
    metric = models.CharField(max_length=32)
    window = models.CharField(max_length=8)
    filters = models.JSONField(default=dict, blank=True)
    filters_key = models.CharField(max_length=255, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    last_viewed_at = models.DateTimeField(
        db_index=True, help_text="Written at most once a minute per combination."
    )
    last_fetched_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When Layers last answered for it (an unchanged answer stores no snapshot).",
    )
    refresh_queued_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="A background fetch is pending since then (at most one per combination).",
    )
    last_error = models.TextField(
        blank=True, default="", help_text="Why the last fetch failed (empty after a success)."
    )
    last_error_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-last_viewed_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "metric", "window", "filters_key"],
                name="leaderboard_demand_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.project} {self.metric} {self.window} {self.filters_key or 'default'}"


class OverrideAudit(models.Model):
    """Local audit of an include/exclude/clear made through layersadmin: who, what, outcome.

    Written before the PATCH is sent (outcome pending) and completed from its result, so an
    interrupted request still leaves a trace. Never edited or deleted through the UI.
    """

    class Outcome(models.TextChoices):
        PENDING = "pending"
        SUCCEEDED = "succeeded"
        FAILED = "failed", "failed (API refused)"
        UNKNOWN = "unknown", "unknown (no answer)"

    class CustomerCheck(models.TextChoices):
        CONFIRMED = "confirmed", "confirmed upstream"
        UNCONFIRMED = "unconfirmed", "unconfirmed (no customer id on either side)"

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="override_audits",
    )
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="override_audits")
    ads_content = models.ForeignKey(
        AdsContent, on_delete=models.PROTECT, related_name="override_audits"
    )
    source = models.CharField(max_length=16, default="dashboard", help_text="dashboard or admin")
    before_override = models.CharField(max_length=16, blank=True, default="")
    before_note = models.TextField(blank=True, default="")
    after_override = models.CharField(max_length=16, blank=True, default="")
    note = models.TextField(blank=True, default="")
    idempotency_key = models.CharField(max_length=64, db_index=True)
    outcome = models.CharField(
        max_length=16, choices=Outcome.choices, default=Outcome.PENDING, db_index=True
    )
    request_id = models.CharField(max_length=64, blank=True, default="")
    error_code = models.CharField(max_length=64, blank=True, default="")
    error_message = models.TextField(blank=True, default="")
    response_set_by = models.CharField(
        max_length=255, blank=True, default="", help_text="overrideSetBy as the API returned it."
    )
    form_token = models.CharField(
        max_length=64,
        blank=True,
        default="",
        help_text="The submitted form this entry came from; with the same body, its key is reused.",
    )
    customer_check = models.CharField(
        max_length=16,
        choices=CustomerCheck.choices,
        blank=True,
        default="",
        help_text="Whether the project's customer was confirmed upstream before the write.",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "override audit entry"
        verbose_name_plural = "override audit"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(after_override__in=["", "include", "exclude"]),
                name="audit_after_override_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(outcome__in=["pending", "succeeded", "failed", "unknown"]),
                name="audit_outcome_valid",
            ),
        ]

    def __str__(self) -> str:
        after = self.after_override or "clear"
        return f"{self.user} {after} {self.ads_content_id} ({self.outcome})"


class ContentReviewAudit(models.Model):
    """Local audit of an approve or reject of a content container (REFERENCE 8.5) made
    through layersadmin: who, which container, the note or reason, the outcome.

    Written before the POST is sent (outcome pending) and completed from its result, so an
    interrupted request still leaves a trace. Never edited or deleted through the UI.
    """

    class Action(models.TextChoices):
        APPROVE = "approve"
        REJECT = "reject"

    class Outcome(models.TextChoices):
        PENDING = "pending"
        SUCCEEDED = "succeeded"
        FAILED = "failed", "failed (API refused)"
        UNKNOWN = "unknown", "unknown (no answer)"

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="content_review_audits",
    )
    project = models.ForeignKey(
        Project, on_delete=models.PROTECT, related_name="content_review_audits"
    )
    container = models.ForeignKey(
        ContentContainer, on_delete=models.PROTECT, related_name="review_audits"
    )
    source = models.CharField(max_length=16, default="dashboard", help_text="dashboard or admin")
    action = models.CharField(max_length=8, choices=Action.choices)
    text = models.TextField(
        blank=True, default="", help_text="The note (approve, optional) or reason (reject)."
    )
    before_status = models.CharField(
        max_length=32, blank=True, default="", help_text="approvalStatus as stored before."
    )
    after_status = models.CharField(
        max_length=32, blank=True, default="", help_text="approvalStatus as the API answered."
    )
    idempotency_key = models.CharField(max_length=64, db_index=True)
    form_token = models.CharField(
        max_length=64,
        blank=True,
        default="",
        help_text="The submitted form this entry came from; with the same body, its key is reused.",
    )
    outcome = models.CharField(
        max_length=16, choices=Outcome.choices, default=Outcome.PENDING, db_index=True
    )
    request_id = models.CharField(max_length=64, blank=True, default="")
    error_code = models.CharField(max_length=64, blank=True, default="")
    error_message = models.TextField(blank=True, default="")
    response_by = models.CharField(
        max_length=255, blank=True, default="", help_text="approvedBy / rejectedBy as answered."
    )
    promotion = models.JSONField(
        null=True, blank=True, help_text="pendingSchedulePromotion as answered (approve only)."
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "content review audit entry"
        verbose_name_plural = "content review audit"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(action__in=["approve", "reject"]),
                name="review_audit_action_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(outcome__in=["pending", "succeeded", "failed", "unknown"]),
                name="review_audit_outcome_valid",
            ),
            # A reject always carries its reason (REFERENCE 8.5: required, 1-1024).
            models.CheckConstraint(
                condition=~models.Q(action="reject", text=""),
                name="review_audit_reject_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.action} {self.container_id} ({self.outcome})"


class BulkOverride(models.Model):
    """Local only: one include / exclude / clear of many scored creatives at once (or the undo
    of one), run on a worker (``creatives.bulk``). Each row is a ``BulkOverrideItem`` with
    its own PATCH, its own Idempotency-Key and its own outcome; every PATCH also leaves an
    ``OverrideAudit`` entry, as a single override does."""

    class Kind(models.TextChoices):
        OVERRIDE = "override"
        UNDO = "undo"

    class Action(models.TextChoices):
        INCLUDE = "include"
        EXCLUDE = "exclude"
        CLEAR = "clear"
        UNDO = "undo", "put back"

    class Status(models.TextChoices):
        PENDING = "pending", "queued"
        RUNNING = "running"
        DONE = "done"
        STOPPED = "stopped", "stopped (resume to send the rest)"

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True, help_text="Last progress (a row finished).")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="bulk_overrides",
    )
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.OVERRIDE)
    action = models.CharField(max_length=8, choices=Action.choices)
    note = models.TextField(blank=True, default="", help_text="The one note sent with every row.")
    projects = models.ManyToManyField(Project, related_name="bulk_overrides")
    status = models.CharField(
        max_length=8, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    undo_until = models.DateTimeField(
        null=True, blank=True, help_text="Until when Undo is offered (set when it finishes)."
    )
    undo_of = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="undo",
        help_text="The bulk action this one puts back (kind undo).",
    )
    task_id = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "bulk override"
        verbose_name_plural = "bulk overrides"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(action__in=["include", "exclude", "clear", "undo"]),
                name="bulk_action_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=["pending", "running", "done", "stopped"]),
                name="bulk_status_valid",
            ),
            # An undo puts back what its bulk action changed; a bulk action is never an undo.
            models.CheckConstraint(
                condition=(
                    models.Q(kind="undo", action="undo", undo_of__isnull=False)
                    | models.Q(kind="override", undo_of__isnull=True) & ~models.Q(action="undo")
                ),
                name="bulk_undo_shape",
            ),
        ]

    def __str__(self) -> str:
        return f"Bulk {self.action} #{self.pk} ({self.status})"


class BulkOverrideItem(models.Model):
    """One row of a ``BulkOverride``: the creative, what it had before and what is sent, the
    Idempotency-Key made once when the bulk action was created (a retried task sends the
    same one), and the row's own outcome."""

    class Status(models.TextChoices):
        PENDING = "pending"
        DONE = "done"
        FAILED = "failed"
        SKIPPED = "skipped", "skipped (nothing to send)"

    bulk = models.ForeignKey(BulkOverride, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveIntegerField(help_text="Rows are sent in this order.")
    ads_content = models.ForeignKey(
        AdsContent, on_delete=models.PROTECT, related_name="bulk_override_items"
    )
    before_override = models.CharField(
        max_length=16, blank=True, default="", help_text="As stored when created; as sent over."
    )
    before_note = models.TextField(blank=True, default="")
    after_override = models.CharField(max_length=16, blank=True, default="", help_text="Sent.")
    after_note = models.TextField(blank=True, default="")
    idempotency_key = models.CharField(max_length=64, unique=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    error_code = models.CharField(max_length=64, blank=True, default="")
    error_message = models.TextField(blank=True, default="")
    request_id = models.CharField(max_length=64, blank=True, default="")
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["bulk", "position"]
        verbose_name = "bulk override row"
        verbose_name_plural = "bulk override rows"
        constraints = [
            models.UniqueConstraint(fields=["bulk", "position"], name="bulk_item_position"),
            models.UniqueConstraint(fields=["bulk", "ads_content"], name="bulk_item_once"),
            models.CheckConstraint(
                condition=models.Q(status__in=["pending", "done", "failed", "skipped"]),
                name="bulk_item_status_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(after_override__in=["", "include", "exclude"]),
                name="bulk_item_after_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.bulk_id}/{self.position} {self.ads_content_id} ({self.status})"
