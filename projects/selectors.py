"""Reads for the dashboard's project pages, and who may see which project.

Access rule (the issue's "Access"): an account manager sees the projects assigned to them;
users with ``projects.view_all_projects`` (support, admins; superusers implicitly) see every
project. Anything else answers 404, never 403, so a project's existence does not leak.
Projects the API no longer returns (``is_gone``) are hidden from the dashboard.
"""

from __future__ import annotations

import contextlib
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import timezone as dt_timezone

from django.conf import settings
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from layersadmin.layers.ids import id_key
from projects import freshness
from projects.models import Project

VIEW_ALL_PERMISSION = "projects.view_all_projects"


def projects_visible_to(user) -> QuerySet[Project]:
    """Every project ``user`` may open in the dashboard (gone projects never)."""
    projects = Project.objects.filter(is_gone=False)
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return projects.none()
    if user.has_perm(VIEW_ALL_PERMISSION):  # True for active superusers too
        return projects
    return projects.filter(account_managers=user)


def project_for_user(user, project_id: str) -> Project:
    """The project with Layers id ``project_id`` if ``user`` may see it; Http404 otherwise."""
    # Never a 500 on a hand-typed URL: NUL is refused by PostgreSQL, ids are at most 64 long.
    if not isinstance(project_id, str) or not 0 < len(project_id) <= 64 or "\x00" in project_id:
        raise Http404("No such project.")
    try:
        return projects_visible_to(user).get(key=id_key(project_id))
    except Project.DoesNotExist:
        raise Http404("No such project.") from None


def project_zone(project: Project) -> zoneinfo.ZoneInfo | dt_timezone:
    """The project's timezone; UTC when the API sent one this machine does not know."""
    name = project.timezone or "UTC"
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return UTC


@contextlib.contextmanager
def project_timezone(project: Project) -> Iterator[None]:
    """Render dates in the project's timezone (full pages and htmx fragments alike)."""
    with timezone.override(project_zone(project)):
        yield


def project_list(*, user, q: str = "", status: str = "") -> QuerySet[Project]:
    """The project list page: visible projects, searched by name or customer id, by status.

    Their counts and top creative are stored on each project (``creatives.counts``),
    so this is one query however many creatives the projects hold."""
    projects = projects_visible_to(user)
    if q:
        projects = projects.filter(Q(name__icontains=q) | Q(customer_external_id__icontains=q))
    if status:
        projects = projects.filter(status=status)
    return projects.order_by("name", "id")


def project_statuses(*, user) -> list[str]:
    """Statuses present among the user's projects (unknown API values included)."""
    found = set(projects_visible_to(user).values_list("status", flat=True).distinct())
    return sorted(found | {Project.Status.ACTIVE, Project.Status.ARCHIVED})


# --- freshness ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Freshness:
    """How current the local copy of a project is, for the badge on every project page."""

    state: str  # "ok", "stale", "failed", "never", "archived"
    synced_at: datetime | None
    error: str = ""

    @property
    def is_bad(self) -> bool:
        return self.state in {"stale", "failed", "never"}


def project_freshness(project: Project, *, now: datetime | None = None) -> Freshness:
    """Red when the last sync failed, never happened, or is older than the threshold.

    Archived projects get no new content and cannot be overridden: their age is shown, never
    flagged.
    """
    now = now or timezone.now()
    ok_at = project.last_sync_ok_at
    if project.last_sync_error:
        return Freshness("failed", ok_at, project.last_sync_error)
    if ok_at is None:
        return Freshness("never", None)
    if project.is_archived:
        return Freshness("archived", ok_at)
    if now - ok_at > timedelta(minutes=settings.LAYERS_STALE_AFTER_MINUTES):
        return Freshness("stale", ok_at)
    return Freshness("ok", ok_at)


@dataclass
class KindFreshness:
    """How fresh one kind of a project's data is, against its target."""

    label: str
    read_at: datetime | None
    target: timedelta

    @property
    def is_late(self) -> bool:
        return self.read_at is None or timezone.now() - self.read_at > self.target

    @property
    def target_minutes(self) -> int:
        return int(self.target.total_seconds() // 60)


def project_kind_freshness(*, project: Project) -> list[KindFreshness]:
    """When each kind was last read for ``project``, against its freshness target."""
    return [
        KindFreshness(label=kind.label, read_at=getattr(project, kind.read_at), target=kind.target)
        for kind in freshness.PER_PROJECT
    ]
