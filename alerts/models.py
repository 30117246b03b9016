"""Alerts (local only: the API has no such objects): what the rules found, who is told, and
each person's and team's choices.

``Alert`` rows are written by ``alerts.services`` only, after the sync (never in a view).
A later digest reads ``Alert``, ``Notification`` and ``AlertPreference`` (its ``digest`` and
``timezone``); nothing here sends mail.
"""

from __future__ import annotations

import zoneinfo
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models
from django.db.models import Q
from django.utils import timezone

from alerts.vocabulary import (
    DIGEST_LABELS,
    DIGEST_OFF,
    RULE_LABELS,
    RULES,
)
from creatives.models import AdsContent
from projects.models import Project

RULE_CHOICES = [(rule, RULE_LABELS[rule]) for rule in RULES]


class Alert(models.Model):
    """One rule holding for one project (and creative, for a creative rule), from when the
    rules first found it (``opened_at``) until they no longer did (``cleared_at``).

    At most one open alert per (rule, creative) and per (rule, project) for project rules: a
    constraint in the database. A condition that clears and comes back opens a new row.
    ``detail`` holds what the rule saw (scores, board and rank, failures…) for the pages.
    """

    rule = models.CharField(max_length=32, choices=RULE_CHOICES)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="alerts")
    ads_content = models.ForeignKey(
        AdsContent,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="alerts",
        help_text="The creative, for a creative rule; empty for a project rule.",
    )
    opened_at = models.DateTimeField(db_index=True)
    cleared_at = models.DateTimeField(
        null=True, blank=True, help_text="When the rules stopped finding it; empty while open."
    )
    detail = models.JSONField(default=dict, blank=True, help_text="What the rule saw.")

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            # Partial unique indexes (SQLite and PostgreSQL): a NULL creative would never
            # conflict in one index over (rule, project, ads_content), so two.
            models.UniqueConstraint(
                fields=["rule", "ads_content"],
                condition=Q(cleared_at__isnull=True, ads_content__isnull=False),
                name="alert_open_once_per_creative",
            ),
            models.UniqueConstraint(
                fields=["rule", "project"],
                condition=Q(cleared_at__isnull=True, ads_content__isnull=True),
                name="alert_open_once_per_project",
            ),
            models.CheckConstraint(condition=Q(rule__in=RULES), name="alert_rule_known"),
        ]
        indexes = [
            # What an evaluation reads first: the project's open alerts.
            models.Index(
                fields=["project", "rule"],
                condition=Q(cleared_at__isnull=True),
                name="alert_open_by_project",
            ),
        ]

    def __str__(self) -> str:
        return f"{RULE_LABELS.get(self.rule, self.rule)}: {self.ads_content or self.project}"

    @property
    def is_open(self) -> bool:
        return self.cleared_at is None


class Notification(models.Model):
    """An alert told to one person: made when the alert opens, for each account manager of
    its project who follows its rule and has not muted the project. Read when ``read_at``."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="notifications")
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "alert"], name="notification_once_per_alert")
        ]
        indexes = [
            # The bell: one COUNT over this person's unread rows only.
            models.Index(
                fields=["user"], condition=Q(read_at__isnull=True), name="notification_unread"
            ),
            # The notifications page: newest first.
            models.Index(fields=["user", "-created_at", "-id"], name="notification_list"),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.alert}"


class AlertPreference(models.Model):
    """One person's alert choices. No row means the defaults: every rule followed, no digest,
    times in each project's timezone.

    ``ignored_rules`` names the rules a person does not follow (so a rule added later is
    followed by default); ``digest`` and ``timezone`` are for the digest e-mail.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alert_preference"
    )
    ignored_rules = models.JSONField(
        default=list, blank=True, help_text="Rules this person does not follow."
    )
    digest = models.CharField(max_length=8, choices=list(DIGEST_LABELS.items()), default=DIGEST_OFF)
    timezone = models.CharField(
        max_length=64, blank=True, default="", help_text="Empty: each project's own timezone."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["user_id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(digest__in=list(DIGEST_LABELS)), name="alertpreference_digest_valid"
            )
        ]

    def __str__(self) -> str:
        return f"Alert settings of {self.user}"

    def follows(self, rule: str) -> bool:
        return rule not in (self.ignored_rules or [])

    @property
    def followed_rules(self) -> list[str]:
        return [rule for rule in RULES if self.follows(rule)]

    def zone_for(self, project: Project) -> zoneinfo.ZoneInfo | None:
        """The zone to show this person a time of ``project`` in: theirs, else the
        project's; None when neither is a zone this machine knows (show UTC and say so)."""
        for name in (self.timezone, project.timezone):
            if name:
                try:
                    return zoneinfo.ZoneInfo(name)
                except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                    continue
        return None


class ProjectMute(models.Model):
    """A person silences one project's alerts until ``until`` (no notification is made for
    alerts that open meanwhile; the alerts themselves are still recorded)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="project_mutes"
    )
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="mutes")
    until = models.DateTimeField()

    class Meta:
        ordering = ["user_id", "until"]
        constraints = [models.UniqueConstraint(fields=["user", "project"], name="projectmute_once")]

    def __str__(self) -> str:
        return f"{self.user} mutes {self.project} until {self.until:%Y-%m-%d %H:%M}"

    def is_active(self, now=None) -> bool:
        return self.until > (now or timezone.now())


class TeamAlertChannel(models.Model):
    """A team's Slack-compatible incoming webhook: a team is a Django auth Group, and it
    receives the alerts of every project one of its members manages. Edited in admin only;
    the URL is a secret (it lets anyone post) and is shown elsewhere only masked."""

    group = models.OneToOneField(Group, on_delete=models.CASCADE, related_name="alert_channel")
    slack_webhook_url = models.URLField(
        "Slack webhook URL",
        max_length=500,
        help_text="An incoming-webhook URL (https://hooks.slack.com/services/…). Kept secret.",
    )
    enabled = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["group__name"]
        verbose_name = "team alert channel"

    def __str__(self) -> str:
        return f"Alerts to {self.group}"

    @property
    def masked_url(self) -> str:
        """Scheme and host only: enough to recognise it, not to post to it."""
        parts = urlsplit(self.slack_webhook_url or "")
        return f"{parts.scheme}://{parts.hostname}/…" if parts.hostname else "(not set)"


class ProjectSyncStreak(models.Model):
    """Local only: how many of a project's syncs failed in a row, counted from the sync's
    ``project_synced`` signal (``alerts.receivers``); the ``sync_failing`` rule reads it."""

    project = models.OneToOneField(Project, on_delete=models.CASCADE, related_name="sync_streak")
    failures_in_row = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    last_failed_at = models.DateTimeField(null=True, blank=True)
    last_ok_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["project_id"]

    def __str__(self) -> str:
        return f"{self.project}: {self.failures_in_row} failure(s) in a row"
