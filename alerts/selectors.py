"""Reads for the alert pages: the bell's count, a person's notifications, their settings.

A person sees only their own notifications (made for the projects they manage); a project
they no longer see (unassigned, gone) is left out of the list.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from urllib.parse import urlencode

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone

from alerts import vocabulary as v
from alerts.models import Alert, AlertPreference, Notification, ProjectMute
from layersadmin.layers.ids import id_key
from projects.models import Project
from projects.selectors import project_zone, projects_visible_to

PAGE_SIZE = 25
IDS_IN_LINK = 100  # creatives named in one link (the table's ids filter takes more)


def notification_unread_count(*, user) -> int:
    """The bell: one COUNT over the partial index of the person's unread notifications."""
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


def notification_list(*, user) -> QuerySet[Notification]:
    """The person's notifications, newest first, with what each row shows (one query)."""
    return (
        Notification.objects.filter(user=user, alert__project__in=projects_visible_to(user))
        .select_related("alert", "alert__project", "alert__ads_content")
        .order_by("-created_at", "-id")
    )


def notification_page(*, user, page: str | int | None) -> Page:
    """One page of ``notification_list``; a bad or past-the-end page number gives the
    nearest page (never a 404 or a 500)."""
    return Paginator(notification_list(user=user), PAGE_SIZE).get_page(page)


@dataclass(frozen=True)
class AlertView:
    """An alert as a row of the notifications page (and of a later digest) shows it."""

    label: str
    summary: str
    url: str
    link_text: str
    zone: tzinfo  # the person's timezone, else the project's (times say which: "T")


def alert_view(alert: Alert, preference: AlertPreference | None = None) -> AlertView:
    """What to say of ``alert`` and where it leads: a creative rule to the decision table
    filtered to exactly its creative, a project rule to the project's overview."""
    project = alert.project
    label = v.RULE_LABELS.get(alert.rule, alert.rule)
    zone = (preference or AlertPreference()).zone_for(project) or UTC
    if alert.ads_content_id is not None:
        url = alert_table_url(project, [alert.ads_content.layers_id])
        return AlertView(label, _summary(alert), url, "Open in the decision table", zone)
    url = reverse("project_detail", kwargs={"project_id": project.layers_id})
    return AlertView(label, _summary(alert), url, "Open the project", zone)


def alert_table_url(project: Project, ads_content_ids: list[str]) -> str:
    """The project's creatives table filtered to exactly these creatives (``?ids=``)."""
    base = reverse("creative_list", kwargs={"project_id": project.layers_id})
    return f"{base}?{urlencode({'ids': ','.join(ads_content_ids[:IDS_IN_LINK])})}"


def _summary(alert: Alert) -> str:
    d = alert.detail if isinstance(alert.detail, dict) else {}
    rule = alert.rule
    if rule in (v.INCLUDED_LOW, v.EXCLUDED_HIGH):
        return f"Score {_num(d.get('score'))}, gate {_num(d.get('gate'))}."
    if rule == v.EXCLUDED_PROMOTED:
        platforms = ", ".join(str(p) for p in d.get("platforms") or []) or "ads"
        return f"{d.get('promotions', '?')} running promotion(s) on {platforms}."
    if rule == v.OVERRIDE_OUTSIDE:
        ours = d.get("ours") or "none"
        now = d.get("now") or "none"
        return f"layersadmin last set {ours}; Layers now has {now}."
    if rule == v.ENTERED_TOP:
        return f"Rank {d.get('rank', '?')} by {d.get('metric', '?')} over {d.get('window', '?')}."
    if rule == v.SCORE_DROP:
        return (
            f"Score {_num(d.get('baseline'))} → {_num(d.get('score'))} "
            f"(baseline {d.get('days', '?')} days ago or when first seen)."
        )
    if rule == v.SYNC_FAILING:
        error = str(d.get("error") or "")[:200]
        failures = d.get("failures", "?")
        syncs = "sync" if failures == 1 else "syncs"
        return f"{failures} failed {syncs} in a row. Last error: {error or 'none'}"
    if rule == v.SYNC_STALE:
        late = d.get("late") or []
        kinds = ", ".join(
            f"{k.get('kind')} (target {k.get('target_minutes')} min)"
            for k in late
            if isinstance(k, dict)
        )
        return f"Older than its target: {kinds or 'unknown'}."
    return ""


def _num(value) -> str:
    return f"{value:.1f}" if isinstance(value, int | float) else "?"


@dataclass
class MuteRow:
    project: Project
    until: datetime | None

    @property
    def muted(self) -> bool:
        return self.until is not None

    @property
    def zone(self) -> tzinfo:
        return project_zone(self.project)  # UTC for a zone this machine does not know


def mute_rows(*, user) -> list[MuteRow]:
    """The projects the person manages (those they are notified about), each with its mute:
    two queries."""
    now = timezone.now()
    projects = list(
        Project.objects.filter(account_managers=user, is_gone=False).order_by("name", "id")
    )
    until = dict(
        ProjectMute.objects.filter(user=user, until__gt=now).values_list("project_id", "until")
    )
    return [MuteRow(project=p, until=until.get(p.pk)) for p in projects]


def managed_project(*, user, project_id: str) -> Project | None:
    """The project with this Layers id if the person manages it, else None."""
    if not isinstance(project_id, str) or not 0 < len(project_id) <= 64 or "\x00" in project_id:
        return None
    return Project.objects.filter(
        account_managers=user, is_gone=False, key=id_key(project_id)
    ).first()
