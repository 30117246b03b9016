"""What arrived from Layers' webhooks and the re-fetches it asked for."""

from __future__ import annotations

from django.db import models

from webhooks.vocabulary import REFETCH_KINDS


class WebhookEvent(models.Model):
    """One Layers webhook event (``X-Layers-Event-Id``), however often it was delivered.

    The event id is unique: Layers retries a delivery with the same id (C14), so a retry of an
    event whose work succeeded is answered 200 and nothing more. A replay (C15: the payload's
    ``replayOf`` names the original) is recorded on the original's row. Rows are kept at least
    7 days (``webhooks_trim``): Layers' retries span about 32 hours.
    """

    class Status(models.TextChoices):
        RECEIVED = "received", "received (work queued)"
        PROCESSED = "processed"
        FAILED = "failed"
        IGNORED = "ignored", "ignored (nothing to do)"

    event_id = models.CharField(max_length=64, unique=True)
    event_type = models.CharField(max_length=100, blank=True, default="")
    received_at = models.DateTimeField(auto_now_add=True)
    last_received_at = models.DateTimeField(
        db_index=True, help_text="The latest delivery (kept 7 days from this)."
    )
    deliveries = models.PositiveIntegerField(default=1, help_text="Retries and replays count.")
    last_delivery_id = models.CharField(
        max_length=64,
        blank=True,
        default="",
        help_text="X-Layers-Event-Id of the latest delivery (another id when it was a replay).",
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RECEIVED)
    # Read from the payload, as it came (any id form).
    project_id = models.CharField("project id", max_length=64, blank=True, default="")
    container_id = models.CharField("container id", max_length=64, blank=True, default="")
    # What it asked for: a re-fetch of this kind and target (id_key form); empty when ignored.
    refetch_kind = models.CharField(
        max_length=16, blank=True, default="", choices=list(REFETCH_KINDS.items())
    )
    refetch_key = models.CharField(max_length=64, blank=True, default="")
    processed_at = models.DateTimeField(null=True, blank=True)
    task_id = models.CharField(
        max_length=64, blank=True, default="", help_text="The task that did the work."
    )
    error = models.TextField(blank=True, default="")
    payload = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-last_received_at", "-id"]
        indexes = [
            # The task marks the events of its target: (kind, key, status).
            models.Index(
                fields=["refetch_kind", "refetch_key", "status"], name="webhookevent_refetch"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_type or 'event'} {self.event_id}"


class PendingRefetch(models.Model):
    """A re-fetch webhook events asked for and a task will do: one row per target, so a burst
    of events for one container or project becomes one re-fetch (the task framework does not
    de-duplicate).

    The request inserts it, or marks an existing one ``dirty``; only the request that inserts
    it enqueues the task. The task claims it (``pending`` -> ``running``, ``dirty`` cleared),
    does the work, then deletes it unless it became dirty meanwhile: then it goes back to
    ``pending`` with a new task, so an event that arrived while the work ran is not lost.
    """

    class State(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"

    kind = models.CharField(max_length=16, choices=list(REFETCH_KINDS.items()))
    target_key = models.CharField(max_length=64, help_text="The target's id in normal form.")
    target_id = models.CharField(max_length=64, help_text="The target's id as the event gave it.")
    project_id = models.CharField(max_length=64, blank=True, default="")
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    dirty = models.BooleanField(default=False, help_text="An event arrived after the claim.")
    created_at = models.DateTimeField(auto_now_add=True)
    enqueued_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    # The claim's own token: a task finishes only the claim it made (a stale claim taken over
    # by another task is left to that one).
    claim_token = models.CharField(max_length=32, blank=True, default="")
    task_id = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        ordering = ["enqueued_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "target_key"], name="pendingrefetch_unique"),
        ]
        verbose_name_plural = "pending re-fetches"

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.target_id} ({self.state})"
