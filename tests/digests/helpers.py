"""Builders shared by the digest tests: people with a digest choice, and alerts (with the
notifications the alerts service would have made) raised at a given moment."""

from __future__ import annotations

import datetime as dt
import smtplib

from django.core.mail.backends.locmem import EmailBackend

from alerts import vocabulary as av
from alerts.models import Alert, AlertPreference, Notification
from digests.models import DigestSending
from tests.factories import AdsContentFactory, UserFactory

UTC = dt.UTC


def at(text: str) -> dt.datetime:
    """An aware UTC instant from "2026-11-03 22:59"."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def person(username: str, *, digest: str = av.DIGEST_DAILY, tz: str = "", email: str | None = None):
    user = UserFactory(
        username=username, email=f"{username}@example.com" if email is None else email
    )
    AlertPreference.objects.create(user=user, digest=digest, timezone=tz)
    return user


def raised(
    project,
    when: dt.datetime,
    *,
    to=(),
    rule: str = av.INCLUDED_LOW,
    title: str = "Low one",
    thumbnail: str = "https://cdn.example.com/thumb.jpg",
    creative=None,
    cleared_at: dt.datetime | None = None,
) -> Alert:
    """An alert of ``project`` opened at ``when`` and told to the people ``to``."""
    if rule in av.PROJECT_RULES:
        creative = None
        detail = {"failures": 3, "error": "HTTP 503"}
    else:
        # A creative the rules would find the same (an evaluation keeps the alert open).
        high = rule == av.EXCLUDED_HIGH
        creative = creative or AdsContentFactory(
            project=project,
            title=title,
            thumbnail_url=thumbnail,
            override="exclude" if high else "include",
            organic_score=8.0 if high else 2.5,
        )
        detail = {"score": creative.organic_score, "gate": 4.0}
    alert = Alert.objects.create(
        rule=rule,
        project=project,
        ads_content=creative,
        opened_at=when,
        cleared_at=cleared_at,
        detail=detail,
    )
    for user in to:
        Notification.objects.create(user=user, alert=alert, created_at=when)
    return alert


FAIL_FOR: set[str] = set()  # recipients FailingBackend refuses


class FailingBackend(EmailBackend):
    """The test outbox, except that it refuses the addresses in ``FAIL_FOR`` like an SMTP
    server would."""

    def send_messages(self, messages):
        for message in messages:
            refused = [r for r in message.recipients() if r in FAIL_FOR]
            if refused:
                raise smtplib.SMTPRecipientsRefused(
                    {r: (550, b"mailbox unavailable") for r in refused}
                )
        return super().send_messages(messages)


class SpyBackend(EmailBackend):
    """The test outbox, noting the sendings' statuses at the moment each e-mail goes."""

    seen: list[list[str]] = []

    def send_messages(self, messages):
        SpyBackend.seen.append(list(DigestSending.objects.values_list("status", flat=True)))
        return super().send_messages(messages)
