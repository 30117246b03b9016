"""Reads of the digests: a person's period, and what their digest says.

**The period.** Daily: one calendar day, midnight to midnight in the person's timezone
(their alert settings), or UTC when they set none. Weekly: one ISO week, Monday 00:00 to the
next Monday 00:00 in that zone (a week with a DST change is 167 or 169 hours long). Without
``--date`` a run sends the previous day or week: the period containing today less one period.

**What a digest holds.** The alerts *raised* in the period that were notifications for the
person (made when the alert opened, for the account managers of its project who followed
its rule and had not muted the project), less those that no longer concern them now: a
project they no longer manage (or gone), a rule they stopped following, a project they have
muted. Alerts raised before the period and still open are not repeated: the previous
digest had them, and the notifications page lists them. Each row says whether its alert is
still open or when it cleared.

**Times** are in the person's timezone when they set one, else in each project's
timezone, and the e-mail says which ("Times in Europe/Paris, the project's timezone").
"""

from __future__ import annotations

import zoneinfo
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from urllib.parse import urljoin, urlsplit

from django.conf import settings
from django.urls import reverse
from django.utils import dateformat

from alerts import vocabulary as av
from alerts.models import AlertPreference, Notification, ProjectMute
from alerts.selectors import alert_table_url, alert_view
from digests import vocabulary as v
from projects.models import Project

# --- the period ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DigestPeriod:
    """A day or an ISO week in ``zone``: ``start`` its first day, ``end`` the day after its
    last; ``starts_at`` and ``ends_at`` the instants (UTC) between which alerts count."""

    frequency: str
    start: date
    end: date
    zone: tzinfo

    @property
    def zone_name(self) -> str:
        return zone_name(self.zone)

    @property
    def starts_at(self) -> datetime:
        return _midnight(self.start, self.zone)

    @property
    def ends_at(self) -> datetime:
        return _midnight(self.end, self.zone)

    @property
    def unit(self) -> str:
        return "day" if self.frequency == v.DIGEST_DAILY else "week"

    @property
    def label(self) -> str:
        """ "on Tuesday 3 November 2026", "in week 45 (2–8 November 2026)"."""
        if self.frequency == v.DIGEST_DAILY:
            return f"on {_day(self.start, 'l j F Y')}"
        return f"in {self.short_label} ({_week_range(self.start, self.end)})"

    @property
    def short_label(self) -> str:
        """For the subject: "Tue 3 Nov 2026", "week 45 of 2026"."""
        if self.frequency == v.DIGEST_DAILY:
            return _day(self.start, "D j M Y")
        year, week, _ = self.start.isocalendar()
        return f"week {week} of {year}"


def _midnight(day: date, zone: tzinfo) -> datetime:
    # A zone whose clocks jump over midnight (fold=0 takes the offset before the jump) still
    # gives the instant the day began.
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def _day(day: date, fmt: str) -> str:
    return dateformat.format(day, fmt)


def _week_range(start: date, end: date) -> str:
    last = end - timedelta(days=1)
    if start.month == last.month:
        return f"{start.day}–{_day(last, 'j F Y')}"
    if start.year == last.year:
        return f"{_day(start, 'j F')} – {_day(last, 'j F Y')}"
    return f"{_day(start, 'j F Y')} – {_day(last, 'j F Y')}"


def digest_period(*, frequency: str, zone: tzinfo, day: date) -> DigestPeriod:
    """The day, or the ISO week (Monday to Sunday), that contains ``day``."""
    if frequency == v.DIGEST_DAILY:
        return DigestPeriod(frequency, day, day + timedelta(days=1), zone)
    if frequency == v.DIGEST_WEEKLY:
        monday = day - timedelta(days=day.weekday())
        return DigestPeriod(frequency, monday, monday + timedelta(days=7), zone)
    raise ValueError(f"unknown digest frequency {frequency!r}")


def digest_period_previous(*, frequency: str, zone: tzinfo, now: datetime) -> DigestPeriod:
    """The last whole period before ``now``: yesterday, or last week, in ``zone``."""
    today = now.astimezone(zone).date()
    back = timedelta(days=1 if frequency == v.DIGEST_DAILY else 7)
    return digest_period(frequency=frequency, zone=zone, day=today - back)


def zone_name(zone: tzinfo) -> str:
    return getattr(zone, "key", None) or str(zone)


def person_zone(preference: AlertPreference | None) -> zoneinfo.ZoneInfo | None:
    """The person's own timezone, when they set one this machine knows."""
    name = preference.timezone if preference is not None else ""
    if not name:
        return None
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return None


def period_zone(preference: AlertPreference | None) -> tzinfo:
    """The zone a person's periods are counted in: theirs, else UTC."""
    return person_zone(preference) or UTC


# --- the digest ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DigestRow:
    """One alert as the e-mail shows it. Text from the API is kept as text: the HTML
    template escapes it, the plain one prints it on one line."""

    title: str
    project: str
    summary: str
    opened: str
    state: str
    url: str  # absolute
    link_text: str
    thumbnail: str  # absolute http(s) URL, or ""


@dataclass
class DigestGroup:
    """One rule's alerts: the first ``ROWS_PER_RULE`` rows, newest first, and the rest
    counted, with where to see them all."""

    rule: str
    label: str
    rows: list[DigestRow]
    total: int
    more_url: str
    more_text: str

    @property
    def more(self) -> int:
        return self.total - len(self.rows)

    @property
    def more_label(self) -> str:
        return v.MORE.format(count=self.more)


@dataclass
class Digest:
    """Everything one person's digest e-mail says."""

    user: object
    period: DigestPeriod
    groups: list[DigestGroup] = field(default_factory=list)
    alert_ids: list[int] = field(default_factory=list)
    times_note: str = ""
    period_note: str = ""
    site_url: str = ""
    settings_url: str = ""
    notifications_url: str = ""

    @property
    def count(self) -> int:
        return len(self.alert_ids)

    @property
    def is_empty(self) -> bool:
        return not self.alert_ids


def site_url() -> str:
    """The site's address for absolute links (``settings.SITE_URL``, read at call time)."""
    return str(settings.SITE_URL).rstrip("/")


def absolute(path: str) -> str:
    return site_url() + path


def digest_notifications(
    *, user, period: DigestPeriod, preference: AlertPreference | None, now: datetime
):
    """The person's notifications of alerts raised in ``period`` that still concern them:
    one query (the project, mute and rule conditions are subqueries)."""
    managed = Project.objects.filter(account_managers=user, is_gone=False).values("pk")
    muted = ProjectMute.objects.filter(user=user, until__gt=now).values("project_id")
    ignored = list(preference.ignored_rules or []) if preference is not None else []
    return (
        Notification.objects.filter(
            user=user,
            alert__opened_at__gte=period.starts_at,
            alert__opened_at__lt=period.ends_at,
            alert__project__in=managed,
        )
        .exclude(alert__project__in=muted)
        .exclude(alert__rule__in=ignored)
        .select_related("alert", "alert__project", "alert__ads_content")
        .order_by("-alert__opened_at", "-alert_id")
    )


def digest_build(
    *, user, period: DigestPeriod, preference: AlertPreference | None, now: datetime
) -> Digest:
    """What ``user``'s digest for ``period`` says (empty: nothing to send). One query,
    whatever the number of alerts."""
    notifications = list(
        digest_notifications(user=user, period=period, preference=preference, now=now)
    )
    digest = Digest(
        user=user,
        period=period,
        site_url=site_url(),
        settings_url=absolute(reverse("alert_settings")),
        notifications_url=absolute(reverse("notifications")),
    )
    mine = person_zone(preference)
    digest.period_note = (
        v.PERIOD_ZONE_YOURS.format(unit=period.unit, zone=period.zone_name)
        if mine is not None
        else v.PERIOD_ZONE_UTC.format(unit=period.unit)
    )
    if not notifications:
        return digest
    by_rule: dict[str, list] = defaultdict(list)
    for notification in notifications:
        by_rule[notification.alert.rule].append(notification.alert)
    digest.alert_ids = [n.alert_id for n in notifications]
    zones: dict[str, str] = {}  # project name -> zone shown
    for rule in (*av.RULES, *sorted(set(by_rule) - set(av.RULES))):
        alerts = by_rule.get(rule)
        if not alerts:
            continue
        rows = []
        for alert in alerts[: v.ROWS_PER_RULE]:
            rows.append(_row(alert, preference, now))
        for alert in alerts:
            project = alert.project
            zones[_one_line(project.name or project.layers_id)] = _project_zone_text(project)
        digest.groups.append(_group(rule, alerts, rows))
    if mine is not None:
        digest.times_note = v.TIMES_IN_YOURS.format(zone=zone_name(mine))
    elif len(set(zones.values())) == 1:
        digest.times_note = v.TIMES_IN_PROJECT.format(zone=next(iter(zones.values())))
    else:
        shown = "; ".join(f"{name}: {zone}" for name, zone in sorted(zones.items()))
        digest.times_note = v.TIMES_IN_PROJECTS.format(zones=shown)
    return digest


def _project_zone_text(project: Project) -> str:
    if project.timezone:
        try:
            return zone_name(zoneinfo.ZoneInfo(project.timezone))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
            pass
    return v.TIMES_IN_UNKNOWN


def _row(alert, preference: AlertPreference | None, now: datetime) -> DigestRow:
    view = alert_view(alert, preference)  # the same words and link as the notifications page
    project = alert.project
    creative = alert.ads_content
    # A creative rule names the creative and its project; a project rule (the group's
    # heading names the rule) the project alone.
    name = _one_line(project.name or project.layers_id)
    title = _one_line(creative.title or v.NO_TITLE) if creative is not None else name
    cleared = alert.cleared_at is not None and alert.cleared_at <= now
    state = v.CLEARED.format(when=_when(alert.cleared_at, view.zone)) if cleared else v.STILL_OPEN
    return DigestRow(
        title=title,
        project=name if creative is not None else "",
        summary=_one_line(view.summary, limit=300),
        opened=v.OPENED.format(when=_when(alert.opened_at, view.zone)),
        state=state,
        url=absolute(view.url),
        link_text=view.link_text,
        thumbnail=thumbnail_url(creative.thumbnail_url if creative is not None else ""),
    )


def _group(rule: str, alerts: list, rows: list[DigestRow]) -> DigestGroup:
    total = len(alerts)
    projects = {alert.project_id for alert in alerts}
    creatives = [alert.ads_content for alert in alerts if alert.ads_content is not None]
    if len(projects) == 1 and len(creatives) == total:
        # One project's creatives: the decision table filtered to exactly them.
        url = absolute(alert_table_url(alerts[0].project, [c.layers_id for c in creatives]))
        text = v.MORE_IN_TABLE.format(total=total)
    else:
        url = absolute(reverse("notifications"))
        text = v.MORE_IN_NOTIFICATIONS.format(total=total)
    return DigestGroup(
        rule=rule,
        label=av.RULE_LABELS.get(rule, rule),
        rows=rows,
        total=total,
        more_url=url,
        more_text=text,
    )


def _when(moment: datetime | None, zone: tzinfo) -> str:
    if moment is None:
        return ""
    return dateformat.format(moment.astimezone(zone), "D j M, H:i T")


def _one_line(text: str, *, limit: int = 200) -> str:
    """API text on one line (a title with line breaks cannot forge rows of the plain-text
    part), cut to ``limit`` characters."""
    flat = " ".join(str(text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def thumbnail_url(url: str) -> str:
    """An absolute http(s) address for an image the API gave, or "" (a path is taken as
    the API's own; any other scheme, e.g. ``javascript:``, is dropped)."""
    url = str(url or "").strip()
    if not url or any(ch in url for ch in "\r\n\x00"):
        return ""
    if url.startswith("/") and not url.startswith("//"):
        url = urljoin(settings.LAYERS_API_BASE_URL, url)
    parts = urlsplit(url)
    return url if parts.scheme in ("http", "https") and parts.hostname else ""
