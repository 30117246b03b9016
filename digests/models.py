"""Digest e-mails sent (local only: the API has no such object).

``DigestSending`` is the record that makes ``send_digests`` idempotent: one row per person,
frequency and period, created before the e-mail goes out (``digests.services``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from digests import vocabulary as v


class DigestSending(models.Model):
    """One person's digest for one period: claimed (``sending``) in its own transaction
    before the e-mail is sent, then ``sent`` or ``failed`` (retried by the next run); or
    ``empty`` when there was nothing to report (no e-mail, not evaluated again).

    ``period_start`` is the period's first day in ``timezone`` (the person's, else UTC), so a
    person who changes their timezone still gets one digest per day or week.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="digest_sendings"
    )
    frequency = models.CharField(
        max_length=8, choices=[(f, v.DIGEST_LABELS[f]) for f in v.FREQUENCIES]
    )
    period_start = models.DateField(help_text="The period's first day, in its timezone.")
    period_end = models.DateField(help_text="The day after the period's last day.")
    timezone = models.CharField(max_length=64, help_text="The zone the period is counted in.")
    starts_at = models.DateTimeField(help_text="The period's start (midnight in its timezone).")
    ends_at = models.DateTimeField(help_text="The period's end, excluded.")
    status = models.CharField(max_length=8, choices=list(v.STATUS_LABELS.items()))
    alert_count = models.PositiveIntegerField(default=0, help_text="Alerts in the e-mail.")
    recipient = models.EmailField(blank=True, default="")
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(
        blank=True, default="", help_text="The last failure's exception (never the settings)."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-period_start", "frequency", "user_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "frequency", "period_start"], name="digestsending_once"
            ),
            models.CheckConstraint(
                condition=Q(status__in=list(v.STATUS_LABELS)), name="digestsending_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(frequency__in=list(v.FREQUENCIES)),
                name="digestsending_frequency_valid",
            ),
        ]
        indexes = [
            # Each run looks up the failed ones to retry: few rows, a partial index.
            models.Index(
                fields=["frequency"], condition=Q(status=v.FAILED), name="digestsending_failed"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_frequency_display()} digest of {self.user} from {self.period_start}"
