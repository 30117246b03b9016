"""The alert rules, evaluated after the sync (never in a view), and people's alert choices.

When the rules run:

* after each project's sync (``sync.signals.project_synced``): the creative rules of that
  project, and the project rules of that project;
* after every ``sync_layers`` run, idle ones too (``sync.signals.sync_run_finished``): the
  project rules of every project, so that a project that stops syncing altogether is
  noticed.

How an alert lives (``Alert``): each rule yields *findings* (rule, project, creative or none,
detail). A finding without an open alert opens one (and notifies: ``_notify``); an open
alert without a finding is cleared. A finding that comes back after it cleared opens a new
alert. A partial unique constraint keeps one open alert per (rule, creative) and per (rule,
project): two evaluations at once insert it once (``ignore_conflicts``).

Set-based: the creative rules read a project in six queries however many creatives it has
(one for the three override rules, one each for the override audit, the two boards and the
score baselines), plus one for its open alerts and the writes; the project rules read every
project in three.

Thresholds are global settings (``LAYERS_ALERT_*``, read at call time); the 4.0 gate is the
API's (``vocabulary.GATE``).
"""

from __future__ import annotations

import logging
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from alerts import vocabulary as v
from alerts.models import (
    Alert,
    AlertPreference,
    Notification,
    ProjectMute,
    ProjectSyncStreak,
    TeamAlertChannel,
)
from creatives.models import AdsContent, LeaderboardSnapshot, OverrideAudit, ScoreSample
from creatives.services import leaderboard_configured
from layersadmin.layers.ids import id_key
from projects import freshness
from projects.models import Project

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Finding:
    """A rule holding now: for a project (``ads_content_id`` None) or one of its creatives."""

    rule: str
    project_id: int
    ads_content_id: int | None = None
    detail: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def key(self) -> tuple[str, int, int | None]:
        return (self.rule, self.project_id, self.ads_content_id)


@dataclass
class Thresholds:
    """``LAYERS_ALERT_*``, read when the rules run (tests and admins may change them)."""

    top_n: int
    score_drop: float
    score_drop_days: int
    sync_failures: int
    stale_grace: timedelta

    @classmethod
    def current(cls) -> Thresholds:
        return cls(
            top_n=settings.LAYERS_ALERT_TOP_N,
            score_drop=settings.LAYERS_ALERT_SCORE_DROP,
            score_drop_days=settings.LAYERS_ALERT_SCORE_DROP_DAYS,
            sync_failures=settings.LAYERS_ALERT_SYNC_FAILURES,
            stale_grace=timedelta(minutes=settings.LAYERS_ALERT_STALE_GRACE_MINUTES),
        )


# --- entry points (the sync's signals) ------------------------------------------------------


def alerts_after_project_sync(*, project: Project, ok: bool, error: str = "") -> list[Alert]:
    """One project's sync ended: count its failure streak, then evaluate its rules (the
    creative rules only after a sync that succeeded: a failed one may have read half)."""
    now = timezone.now()
    sync_streak_record(project=project, ok=ok, error=error, now=now)
    opened = alerts_evaluate_projects(project_ids=[project.pk], now=now)
    if ok:
        opened += alerts_evaluate_creatives(project=project, now=now)
    return opened


def alerts_after_run() -> list[Alert]:
    """A sync run ended: the project rules of every project."""
    return alerts_evaluate_projects(project_ids=None)


def sync_streak_record(*, project: Project, ok: bool, error: str = "", now=None) -> None:
    """Count a project's sync failures in a row (reset by a success)."""
    now = now or timezone.now()
    streak, _ = ProjectSyncStreak.objects.get_or_create(project=project)
    if ok:
        streak.failures_in_row, streak.last_ok_at, streak.last_error = 0, now, ""
    else:
        streak.failures_in_row += 1
        streak.last_failed_at, streak.last_error = now, (error or "")[:2000]
    streak.save()


# --- the creative rules ---------------------------------------------------------------------


def alerts_evaluate_creatives(
    *, project: Project, now: datetime | None = None, thresholds: Thresholds | None = None
) -> list[Alert]:
    """Evaluate the creative rules of ``project``; returns the alerts this opened."""
    now = now or timezone.now()
    limits = thresholds or Thresholds.current()
    findings = [
        *_override_findings(project),
        *_override_outside_findings(project),
        *_entered_top_findings(project, limits),
        *_score_drop_findings(project, now, limits),
    ]
    if project.is_archived or project.is_gone:
        findings = []  # nothing to act on: its open alerts clear
    return _reconcile(
        findings,
        scope=Q(project=project, rule__in=v.CREATIVE_RULES),
        project_ids=[project.pk],
        now=now,
    )


def _override_findings(project: Project) -> list[Finding]:
    """Included under the gate; excluded at or above it; excluded with ads still running.
    One query: the project's included-and-low and excluded rows (overrides are few)."""
    rows = (
        AdsContent.objects.filter(project=project, is_gone=False)
        .filter(Q(override="include", organic_score__lt=v.GATE) | Q(override="exclude"))
        .values_list("pk", "override", "organic_score", "active_promotions")
    )
    found = []
    for pk, override, score, promotions in rows:
        if override == "include":
            found.append(Finding(v.INCLUDED_LOW, project.pk, pk, {"score": score, "gate": v.GATE}))
            continue
        if score >= v.GATE:
            found.append(Finding(v.EXCLUDED_HIGH, project.pk, pk, {"score": score, "gate": v.GATE}))
        running = (
            [p for p in promotions if isinstance(p, dict)] if isinstance(promotions, list) else []
        )
        if running:
            platforms = sorted({str(p.get("platform") or "ad")[:32] for p in running})
            found.append(
                Finding(
                    v.EXCLUDED_PROMOTED,
                    project.pk,
                    pk,
                    {"promotions": len(running), "platforms": platforms},
                )
            )
    return found


def _override_outside_findings(project: Project) -> list[Finding]:
    """Creatives whose synced override differs from what layersadmin last set on them (its
    newest succeeded audit entry). Not when our own newer write is still pending or its
    outcome unknown and Layers has exactly what it asked for. One query."""
    audits = OverrideAudit.objects.filter(ads_content=OuterRef("pk")).order_by("-created_at", "-id")
    succeeded = audits.filter(outcome=OverrideAudit.Outcome.SUCCEEDED)
    rows = (
        AdsContent.objects.filter(
            project=project,
            is_gone=False,
            pk__in=OverrideAudit.objects.filter(
                project=project, outcome=OverrideAudit.Outcome.SUCCEEDED
            ).values("ads_content"),
        )
        .annotate(
            ours=Subquery(succeeded.values("after_override")[:1]),
            ours_at=Subquery(succeeded.values("completed_at")[:1]),
            last_after=Subquery(audits.values("after_override")[:1]),
            last_outcome=Subquery(audits.values("outcome")[:1]),
        )
        .values_list("pk", "override", "ours", "ours_at", "last_after", "last_outcome")
    )
    found = []
    for pk, override, ours, ours_at, last_after, last_outcome in rows:
        if override == (ours or ""):
            continue
        in_doubt = (OverrideAudit.Outcome.PENDING, OverrideAudit.Outcome.UNKNOWN)
        if last_outcome in in_doubt and override == (last_after or ""):
            continue  # our own newer write, its answer not (yet) recorded
        detail = {"ours": ours or "", "now": override, "ours_at": _iso(ours_at)}
        found.append(Finding(v.OVERRIDE_OUTSIDE, project.pk, pk, detail))
    return found


def _entered_top_findings(project: Project, limits: Thresholds) -> list[Finding]:
    """Creatives in the top N of a configured board's newest snapshot that were not in the
    top N of the snapshot before it (a board seen once has no "before": nothing entered).
    One query per configured board (two by default), one to find the creatives."""
    entered: dict[str, dict[str, Any]] = {}
    for metric, window in leaderboard_configured():
        two = list(
            LeaderboardSnapshot.objects.filter(
                project=project, metric=metric, window=window, filters_key=""
            )
            .order_by("-fetched_at", "-id")
            .values_list("items", "declined")[:2]
        )
        if len(two) < 2 or two[0][1] or two[1][1]:
            continue
        now_top, before_top = _top(two[0][0], limits.top_n), _top(two[1][0], limits.top_n)
        for key, rank in now_top.items():
            if key not in before_top and key not in entered:
                entered[key] = {
                    "metric": metric,
                    "window": window,
                    "rank": rank,
                    "top": limits.top_n,
                }
    if not entered:
        return []
    rows = AdsContent.objects.filter(project=project, is_gone=False, key__in=list(entered))
    return [
        Finding(v.ENTERED_TOP, project.pk, pk, entered[key])
        for pk, key in rows.values_list("pk", "key")
    ]


def _top(items: Any, n: int) -> dict[str, int]:
    """id key -> rank of a snapshot's first ``n`` items (the API's order; its ``rank`` when
    it gives one)."""
    found: dict[str, int] = {}
    for index, item in enumerate(items if isinstance(items, list) else []):
        if not isinstance(item, dict):
            continue
        rank = item.get("rank")
        rank = rank if isinstance(rank, int) and not isinstance(rank, bool) else index + 1
        key = id_key(item.get("adsContentId"))
        if key and rank <= n and key not in found:
            found[key] = rank
    return found


def _score_drop_findings(project: Project, now: datetime, limits: Thresholds) -> list[Finding]:
    """Creatives whose score fell by ``score_drop`` or more since the baseline: their score
    ``score_drop_days`` days ago (the newest sample then), or their first sample when they
    are younger. One query (two correlated subqueries on the samples' index)."""
    cutoff = now - timedelta(days=limits.score_drop_days)
    samples = ScoreSample.objects.filter(ads_content=OuterRef("pk"))
    then = samples.filter(observed_at__lte=cutoff).order_by("-observed_at", "-id")
    first = samples.order_by("observed_at", "id")
    rows = (
        AdsContent.objects.filter(project=project, is_gone=False)
        .annotate(
            baseline=Coalesce(
                Subquery(then.values("score")[:1]), Subquery(first.values("score")[:1])
            )
        )
        .filter(baseline__gte=F("organic_score") + limits.score_drop)
        .values_list("pk", "organic_score", "baseline")
    )
    return [
        Finding(
            v.SCORE_DROP,
            project.pk,
            pk,
            {"score": score, "baseline": baseline, "days": limits.score_drop_days},
        )
        for pk, score, baseline in rows
    ]


# --- the project rules ----------------------------------------------------------------------


def alerts_evaluate_projects(
    *,
    project_ids: Iterable[int] | None,
    now: datetime | None = None,
    thresholds: Thresholds | None = None,
) -> list[Alert]:
    """Evaluate the project rules for these projects (pks; None: every project)."""
    now = now or timezone.now()
    limits = thresholds or Thresholds.current()
    ids = None if project_ids is None else list(project_ids)
    projects = Project.objects.filter(is_gone=False).exclude(status=Project.Status.ARCHIVED)
    if ids is not None:
        projects = projects.filter(pk__in=ids)
    findings = [*_failing_findings(projects, limits), *_stale_findings(projects, now, limits)]
    scope = Q(rule__in=v.PROJECT_RULES)
    if ids is not None:
        scope &= Q(project_id__in=ids)
    return _reconcile(findings, scope=scope, project_ids=ids, now=now)


def _failing_findings(projects, limits: Thresholds) -> list[Finding]:
    rows = ProjectSyncStreak.objects.filter(
        project__in=projects, failures_in_row__gte=max(1, limits.sync_failures)
    ).values_list("project_id", "failures_in_row", "last_error", "last_failed_at")
    return [
        Finding(
            v.SYNC_FAILING,
            project_id,
            None,
            {"failures": failures, "error": error[:500], "last_failed_at": _iso(failed_at)},
        )
        for project_id, failures, error, failed_at in rows
    ]


def _stale_findings(projects, now: datetime, limits: Thresholds) -> list[Finding]:
    """A kind read longer ago than its freshness target plus the grace; never read, when
    the project was stored that long ago. One query."""
    late = Q()
    for kind in freshness.PER_PROJECT:
        deadline = now - kind.target - limits.stale_grace
        late |= Q(**{f"{kind.read_at}__lt": deadline})
        late |= Q(**{f"{kind.read_at}__isnull": True, "synced_at__lt": deadline})
    fields = [kind.read_at for kind in freshness.PER_PROJECT]
    found = []
    for row in projects.filter(late).values("pk", "synced_at", *fields):
        kinds = []
        for kind in freshness.PER_PROJECT:
            deadline = now - kind.target - limits.stale_grace
            read_at = row[kind.read_at]
            if (read_at or row["synced_at"]) < deadline:
                kinds.append(
                    {
                        "kind": kind.label,
                        "read_at": _iso(read_at),
                        "target_minutes": int(kind.target.total_seconds() // 60),
                    }
                )
        if kinds:
            found.append(Finding(v.SYNC_STALE, row["pk"], None, {"late": kinds}))
    return found


# --- open, clear, notify --------------------------------------------------------------------


def _reconcile(
    findings: list[Finding], *, scope: Q, project_ids: list[int] | None, now: datetime
) -> list[Alert]:
    """Open an alert for each finding without one, clear each open alert in ``scope``
    without a finding; notify for those opened. Returns them."""
    wanted = {finding.key: finding for finding in findings}
    with transaction.atomic():
        open_alerts = {
            (rule, project_id, ads_content_id): pk
            for pk, rule, project_id, ads_content_id in Alert.objects.filter(
                scope, cleared_at__isnull=True
            ).values_list("pk", "rule", "project_id", "ads_content_id")
        }
        gone = [pk for key, pk in open_alerts.items() if key not in wanted]
        if gone:
            Alert.objects.filter(pk__in=gone, cleared_at__isnull=True).update(cleared_at=now)
        new = [finding for key, finding in wanted.items() if key not in open_alerts]
        if not new:
            return []
        # Another evaluation may have opened the same one meanwhile: the partial unique
        # constraint keeps it once, and ours is skipped (and not notified twice).
        Alert.objects.bulk_create(
            [
                Alert(
                    rule=f.rule,
                    project_id=f.project_id,
                    ads_content_id=f.ads_content_id,
                    opened_at=now,
                    detail=f.detail,
                )
                for f in new
            ],
            ignore_conflicts=True,
        )
        opened = list(
            Alert.objects.filter(
                project_id__in={f.project_id for f in new},
                rule__in={f.rule for f in new},
                opened_at=now,
                cleared_at__isnull=True,
            )
        )
        _notify(opened, now=now)
    if opened and TeamAlertChannel.objects.filter(enabled=True).exists():
        from alerts.tasks import alerts_slack_enqueue

        ids = [alert.pk for alert in opened]
        # After the commit, and never inside the sync's or this transaction.
        transaction.on_commit(lambda: alerts_slack_enqueue(alert_ids=ids))
    return opened


def _notify(alerts: list[Alert], *, now: datetime) -> int:
    """A Notification of each opened alert for every active account manager of its project
    who follows its rule and has not muted the project. Four queries whatever the count."""
    if not alerts:
        return 0
    project_ids = {alert.project_id for alert in alerts}
    through = Project.account_managers.through
    managers: dict[int, set[int]] = defaultdict(set)
    for project_id, user_id in through.objects.filter(
        project_id__in=project_ids, user__is_active=True
    ).values_list("project_id", "user_id"):
        managers[project_id].add(user_id)
    users = set().union(*managers.values()) if managers else set()
    if not users:
        return 0
    ignored = {
        user_id: set(rules or [])
        for user_id, rules in AlertPreference.objects.filter(user_id__in=users).values_list(
            "user_id", "ignored_rules"
        )
    }
    muted = set(
        ProjectMute.objects.filter(
            user_id__in=users, project_id__in=project_ids, until__gt=now
        ).values_list("user_id", "project_id")
    )
    rows = [
        Notification(user_id=user_id, alert=alert, created_at=now)
        for alert in alerts
        for user_id in sorted(managers.get(alert.project_id, ()))
        if alert.rule not in ignored.get(user_id, set())
        and (user_id, alert.project_id) not in muted
    ]
    Notification.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def _iso(moment: datetime | None) -> str:
    return moment.isoformat() if moment else ""


# --- a person's choices (the settings and notifications pages) --------------------------------


def alert_preference_get(*, user) -> AlertPreference:
    """The person's choices; the defaults (unsaved) when they never saved any."""
    found = AlertPreference.objects.filter(user=user).first()
    return found or AlertPreference(user=user)


def alert_preference_save(
    *, user, followed_rules: Iterable[str], digest: str, timezone_name: str
) -> AlertPreference:
    """Save what the settings form validated (``alerts.forms.AlertPreferenceForm``)."""
    followed = set(followed_rules)
    if digest not in v.DIGEST_LABELS:
        raise ValueError(f"unknown digest {digest!r}")
    if timezone_name and timezone_name not in zoneinfo.available_timezones():
        raise ValueError(f"unknown timezone {timezone_name!r}")
    preference, _ = AlertPreference.objects.update_or_create(
        user=user,
        defaults={
            "ignored_rules": [rule for rule in v.RULES if rule not in followed],
            "digest": digest,
            "timezone": timezone_name,
        },
    )
    return preference


def project_mute_set(*, user, project: Project, days: str, now=None) -> ProjectMute | None:
    """Mute ``project`` for ``user`` for 1, 7 or 30 days (``vocabulary.MUTE_DURATIONS``), or
    unmute it (``vocabulary.UNMUTE``). Returns the mute, None when unmuted."""
    now = now or timezone.now()
    if days == v.UNMUTE:
        ProjectMute.objects.filter(user=user, project=project).delete()
        return None
    mute, _ = ProjectMute.objects.update_or_create(
        user=user, project=project, defaults={"until": now + v.MUTE_DURATIONS[days]}
    )
    return mute


def notifications_mark_read(*, user, notification_id: int | None = None, now=None) -> int:
    """Mark one of ``user``'s notifications read (``notification_id``), or all of them
    (None). Returns how many changed; another person's id changes nothing."""
    rows = Notification.objects.filter(user=user, read_at__isnull=True)
    if notification_id is not None:
        rows = rows.filter(pk=notification_id)
    return rows.update(read_at=now or timezone.now())
