"""``send_digests``: each person's digest e-mail for a period, sent once.

**Idempotent.** Each (person, frequency, period) has one ``DigestSending`` row (a unique
constraint). A run creates it as ``sending`` in its own transaction, commits, and only then
sends; afterwards it marks the row ``sent`` or ``failed``. So two runs for the same period,
even at the same time on two hosts, send one e-mail: the second finds the row (or loses the
insert to the first) and skips the person.

**Failures are retried.** A send that raises (SMTP refused, connection lost) marks the row
``failed`` with the exception; every later run of that frequency takes its failed rows back
(``failed`` -> ``sending`` by a conditional UPDATE, so one run has it) and tries again, up to
``MAX_ATTEMPTS`` attempts in all.

**A crash between send and mark: at most a miss, never a duplicate.** A process killed after
the row says ``sending`` (before or after the SMTP server took the e-mail) leaves it
``sending``, which no run sends again: the person may miss that digest, never get it twice.
Admin lists such rows (status "Sending"); deleting one there lets the next run send it.

**Nothing to report, no e-mail.** A person without alerts in the period gets no e-mail; the
period is recorded ``empty`` and not evaluated again. Alerts open at the moment the rules
find them, never in the past, so a period that has ended cannot gain any (a period that has
not ended yet is never sent).
"""

from __future__ import annotations

import contextlib
import logging
import zoneinfo
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import IntegrityError, transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.utils import timezone

from alerts.models import AlertPreference
from digests import vocabulary as v
from digests.models import DigestSending
from digests.selectors import (
    Digest,
    DigestPeriod,
    digest_build,
    digest_period,
    digest_period_previous,
    period_zone,
)

logger = logging.getLogger(__name__)


@dataclass
class DigestRunResult:
    """What a run did, by outcome; each entry ``(username, period start, alert count)``."""

    frequency: str
    dry_run: bool = False
    sent: list[tuple[str, date, int]] = field(default_factory=list)
    failed: list[tuple[str, date, int]] = field(default_factory=list)
    empty: list[tuple[str, date, int]] = field(default_factory=list)
    would_send: list[tuple[str, date, int]] = field(default_factory=list)
    done: int = 0  # already sent or empty
    given_up: int = 0  # failed MAX_ATTEMPTS times: not tried again
    busy: int = 0  # another run has it, or a crash left it "sending"
    not_over: int = 0  # the period has not ended in the person's zone
    no_address: int = 0

    @property
    def ok(self) -> bool:
        return not self.failed


def digests_send(
    *,
    frequency: str,
    day: date | None = None,
    now: datetime | None = None,
    dry_run: bool = False,
) -> DigestRunResult:
    """Send the ``frequency`` digests: first the failed ones of earlier runs again, then
    each person's of the previous day or week in their zone (or of the period containing
    ``day``).
    ``dry_run`` builds each digest and reports it, and writes and sends nothing."""
    if frequency not in v.FREQUENCIES:
        raise ValueError(f"unknown digest frequency {frequency!r}")
    now = now or timezone.now()
    result = DigestRunResult(frequency=frequency, dry_run=dry_run)
    preferences = (
        AlertPreference.objects.filter(digest=frequency, user__is_active=True)
        .select_related("user")
        .order_by("user_id")
    )
    connection = None if dry_run else get_connection()
    try:
        # Earlier failures first, so this run's own failures wait for the next run.
        retried = set() if dry_run else _retry_failed(frequency, now, result, connection)
        for preference in preferences:
            user = preference.user
            zone = period_zone(preference)
            if day is None:
                period = digest_period_previous(frequency=frequency, zone=zone, now=now)
            else:
                period = digest_period(frequency=frequency, zone=zone, day=day)
            _send_one(user, preference, period, now, result, connection, retried=retried)
    finally:
        if connection is not None:
            connection.close()
    return result


def _send_one(
    user, preference, period: DigestPeriod, now, result, connection, *, retried: set[int]
) -> None:
    if period.ends_at > now:
        result.not_over += 1
        return
    if not user.email:
        result.no_address += 1
        return
    existing = DigestSending.objects.filter(
        user=user, frequency=period.frequency, period_start=period.start
    ).first()
    if existing is not None:
        if existing.pk in retried:
            pass  # counted by the retry
        elif existing.status == v.SENDING:
            result.busy += 1
        elif existing.status == v.FAILED:
            result.given_up += existing.attempts >= v.MAX_ATTEMPTS
        else:
            result.done += 1
        return
    digest = digest_build(user=user, period=period, preference=preference, now=now)
    entry = (user.get_username(), period.start, digest.count)
    if result.dry_run:
        (result.empty if digest.is_empty else result.would_send).append(entry)
        return
    row = _claim_new(user, period, digest)
    if row is None:
        result.busy += 1  # another run inserted it first
        return
    if digest.is_empty:
        result.empty.append(entry)
        return
    _deliver(row, digest, connection, result, entry)


def _claim_new(user, period: DigestPeriod, digest: Digest) -> DigestSending | None:
    """Insert the row, committed before anything is sent; None when another run has it."""
    try:
        with transaction.atomic():
            return DigestSending.objects.create(
                user=user,
                frequency=period.frequency,
                period_start=period.start,
                period_end=period.end,
                timezone=period.zone_name,
                starts_at=period.starts_at,
                ends_at=period.ends_at,
                status=v.EMPTY if digest.is_empty else v.SENDING,
                alert_count=digest.count,
                recipient=user.email,
                attempts=0 if digest.is_empty else 1,
            )
    except IntegrityError:
        return None


def _retry_failed(frequency: str, now: datetime, result: DigestRunResult, connection) -> set[int]:
    """Take back each failed sending of this frequency (one run gets each) and send it.
    Returns the rows it took."""
    failed = (
        DigestSending.objects.filter(
            frequency=frequency, status=v.FAILED, attempts__lt=v.MAX_ATTEMPTS
        )
        .select_related("user")
        .order_by("period_start", "user_id")
    )
    taken: set[int] = set()
    for row in failed:
        user = row.user
        preference = AlertPreference.objects.filter(user=user).first()
        if (
            not user.is_active
            or not user.email
            or preference is None
            or preference.digest != frequency
        ):
            continue  # they turned it off or left: not sent, left failed
        claimed = DigestSending.objects.filter(pk=row.pk, status=v.FAILED).update(
            status=v.SENDING, attempts=F("attempts") + 1, recipient=user.email, updated_at=now
        )
        if not claimed:
            result.busy += 1
            continue
        taken.add(row.pk)
        row.refresh_from_db()
        period = DigestPeriod(frequency, row.period_start, row.period_end, _zone(row.timezone))
        digest = digest_build(user=user, period=period, preference=preference, now=now)
        entry = (user.get_username(), period.start, digest.count)
        if digest.is_empty:  # nothing left to say (a project unassigned, a rule unfollowed)
            DigestSending.objects.filter(pk=row.pk).update(
                status=v.EMPTY, alert_count=0, updated_at=timezone.now()
            )
            result.empty.append(entry)
            continue
        _deliver(row, digest, connection, result, entry)
    return taken


def _zone(name: str):
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return UTC


def _deliver(row: DigestSending, digest: Digest, connection, result, entry) -> None:
    """Send, then mark. A failure is recorded by its exception only (never the settings)."""
    try:
        digest_message(digest, connection=connection).send()
    except Exception as exc:
        error = _error_text(exc)
        logger.warning(
            "digests: the %s digest of user %s from %s failed: %s",
            row.frequency,
            row.user_id,
            row.period_start,
            error,
        )
        DigestSending.objects.filter(pk=row.pk).update(
            status=v.FAILED, error=error, alert_count=digest.count, updated_at=timezone.now()
        )
        result.failed.append(entry)
        with contextlib.suppress(Exception):  # closing what already failed
            connection.close()  # a broken connection: the next message opens a new one
        return
    sent_at = timezone.now()
    DigestSending.objects.filter(pk=row.pk).update(
        status=v.SENT, sent_at=sent_at, error="", alert_count=digest.count, updated_at=sent_at
    )
    result.sent.append(entry)


def _error_text(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"[:500]
    password = getattr(settings, "EMAIL_HOST_PASSWORD", "") or ""
    if password:
        text = text.replace(password, "[hidden]")
    return text


def digest_message(digest: Digest, *, connection=None) -> EmailMultiAlternatives:
    """The e-mail: a plain-text part and an HTML alternative, from ``templates/digests/``."""
    context = {"digest": digest, "words": _words(digest)}
    count = digest.count
    subject = v.SUBJECT[digest.period.frequency].format(
        count=count, s="" if count == 1 else "s", period=digest.period.short_label
    )
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("digests/digest.txt", context),
        to=[digest.user.email],
        connection=connection,
        # RFC 3834: an automatic message; out-of-office replies should not answer it.
        headers={"Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "All"},
    )
    message.attach_alternative(render_to_string("digests/digest.html", context), "text/html")
    return message


def _words(digest: Digest) -> dict[str, str]:
    return {
        "heading": v.HEADING[digest.period.frequency],
        "intro": v.PERIOD_INTRO.format(period=digest.period.label),
        "settings_link": v.SETTINGS_LINK,
        "notifications_link": v.NOTIFICATIONS_LINK,
    }
