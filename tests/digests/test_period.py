"""Periods: a calendar day or an ISO week in the person's zone (UTC when none)."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from digests import vocabulary as v
from digests.selectors import digest_period, digest_period_previous
from tests.digests.helpers import at

PARIS = zoneinfo.ZoneInfo("Europe/Paris")


def test_a_day_in_paris_is_midnight_to_midnight_there():
    period = digest_period(frequency=v.DIGEST_DAILY, zone=PARIS, day=dt.date(2026, 11, 3))
    assert period.starts_at == at("2026-11-02 23:00")
    assert period.ends_at == at("2026-11-03 23:00")
    assert period.label == "on Tuesday 3 November 2026"


def test_a_week_is_the_iso_week_monday_to_sunday():
    period = digest_period(frequency=v.DIGEST_WEEKLY, zone=dt.UTC, day=dt.date(2026, 11, 5))
    assert (period.start, period.end) == (dt.date(2026, 11, 2), dt.date(2026, 11, 9))
    assert period.start.weekday() == 0
    assert period.short_label == "week 45 of 2026"
    assert period.label == "in week 45 of 2026 (2–8 November 2026)"


def test_the_week_the_clocks_go_back_is_169_hours():
    # Europe/Paris leaves summer time on Sunday 25 October 2026.
    period = digest_period(frequency=v.DIGEST_WEEKLY, zone=PARIS, day=dt.date(2026, 10, 25))
    assert period.start == dt.date(2026, 10, 19)
    assert period.starts_at == at("2026-10-18 22:00")  # CEST, UTC+2
    assert period.ends_at == at("2026-10-25 23:00")  # CET, UTC+1
    assert period.ends_at - period.starts_at == dt.timedelta(hours=169)


def test_yesterday_depends_on_the_zone():
    now = at("2026-11-03 23:30")  # already 4 November in Paris
    paris = digest_period_previous(frequency=v.DIGEST_DAILY, zone=PARIS, now=now)
    utc = digest_period_previous(frequency=v.DIGEST_DAILY, zone=dt.UTC, now=now)
    assert paris.start == dt.date(2026, 11, 3)
    assert utc.start == dt.date(2026, 11, 2)


def test_last_week_from_any_day_of_this_week():
    for day in (9, 12, 15):  # Monday, Thursday, Sunday of week 46
        now = at(f"2026-11-{day:02d} 08:00")
        period = digest_period_previous(frequency=v.DIGEST_WEEKLY, zone=PARIS, now=now)
        assert (period.start, period.end) == (dt.date(2026, 11, 2), dt.date(2026, 11, 9))
