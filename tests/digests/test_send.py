"""`send_digests`: who gets a digest, of which alerts, once; failures retried; crashes not
resent."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core import mail
from django.core.management import CommandError, call_command

from alerts import vocabulary as av
from alerts.models import AlertPreference, ProjectMute
from alerts.services import alerts_evaluate_creatives, project_mute_set
from digests import vocabulary as v
from digests.models import DigestSending
from digests.selectors import digest_period
from digests.services import _claim_new, digest_build, digests_send
from tests.digests import helpers
from tests.digests.helpers import at, person, raised
from tests.factories import AdsContentFactory, ProjectFactory

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 11, 3)
NOON = at("2026-11-03 12:00")
LATER = at("2026-11-05 07:00")  # both periods below are over


@pytest.fixture
def project():
    return ProjectFactory(name="Bluebird Fitness", timezone="America/Denver")


def send(frequency=v.DIGEST_DAILY, *, day=DAY, now=LATER, **kwargs):
    return digests_send(frequency=frequency, day=day, now=now, **kwargs)


def recipients() -> list[str]:
    return sorted(r for message in mail.outbox for r in message.to)


# --- idempotent -------------------------------------------------------------------------------


def test_run_twice_one_mail_per_person(project):
    maria, paul = person("maria"), person("paul")
    project.account_managers.add(maria, paul)
    raised(project, NOON, to=[maria, paul])
    first = send()
    assert recipients() == ["maria@example.com", "paul@example.com"]
    second = send()
    assert len(mail.outbox) == 2
    assert len(first.sent) == 2 and second.sent == [] and second.done == 2
    rows = DigestSending.objects.order_by("user__username")
    assert [(r.status, r.alert_count, r.attempts) for r in rows] == [(v.SENT, 1, 1)] * 2
    assert all(r.sent_at is not None and r.period_start == DAY for r in rows)


def test_the_command_twice_for_the_same_past_date(project):
    maria = person("maria")
    project.account_managers.add(maria)
    raised(project, NOON, to=[maria])
    for _ in range(2):
        call_command("send_digests", "--period", "daily", "--date", "2026-11-03", verbosity=0)
    assert recipients() == ["maria@example.com"]
    assert DigestSending.objects.get().status == v.SENT


def test_the_row_is_claimed_before_sending_and_a_second_claim_loses(project, settings):
    maria = person("maria")
    project.account_managers.add(maria)
    raised(project, NOON, to=[maria])
    settings.EMAIL_BACKEND = "tests.digests.helpers.SpyBackend"
    helpers.SpyBackend.seen.clear()
    send()
    # At the moment of sending, the committed row already said "sending".
    assert helpers.SpyBackend.seen == [[v.SENDING]] and len(mail.outbox) == 1
    assert DigestSending.objects.get().status == v.SENT
    period = digest_period(frequency=v.DIGEST_DAILY, zone=dt.UTC, day=DAY)
    digest = digest_build(user=maria, period=period, preference=None, now=LATER)
    assert _claim_new(maria, period, digest) is None  # the unique row: another run skips


def test_a_digest_left_sending_by_a_crash_is_not_sent_again(project):
    maria = person("maria")
    project.account_managers.add(maria)
    raised(project, NOON, to=[maria])
    DigestSending.objects.create(
        user=maria,
        frequency=v.DIGEST_DAILY,
        period_start=DAY,
        period_end=DAY + dt.timedelta(days=1),
        timezone="UTC",
        starts_at=at("2026-11-03 00:00"),
        ends_at=at("2026-11-04 00:00"),
        status=v.SENDING,
        attempts=1,
    )
    result = send()
    assert mail.outbox == [] and result.busy == 1
    assert DigestSending.objects.get().status == v.SENDING  # visible in admin


# --- failures ---------------------------------------------------------------------------------


def test_a_failed_send_is_recorded_and_retried_by_the_next_run(project, settings):
    settings.EMAIL_BACKEND = "tests.digests.helpers.FailingBackend"
    settings.EMAIL_HOST_PASSWORD = "smtp-pass-do-not-show"
    maria, paul = person("maria"), person("paul")
    project.account_managers.add(maria, paul)
    raised(project, NOON, to=[maria, paul])
    helpers.FAIL_FOR.add("maria@example.com")
    try:
        first = send()
    finally:
        helpers.FAIL_FOR.clear()
    assert recipients() == ["paul@example.com"]  # one failure does not stop the others
    assert [u for u, _, _ in first.failed] == ["maria"] and not first.ok
    row = DigestSending.objects.get(user=maria)
    assert row.status == v.FAILED and row.attempts == 1
    assert "SMTPRecipientsRefused" in row.error and "smtp-pass" not in row.error
    # The next run, a day later, retries Maria's digest of the 3rd as well as sending the 4th's.
    second = send(day=None, now=at("2026-11-05 07:00"))
    assert [u for u, _, _ in second.sent] == ["maria"]
    assert recipients() == ["maria@example.com", "paul@example.com"]
    row.refresh_from_db()
    assert (row.status, row.attempts, row.error) == (v.SENT, 2, "")
    third = send()
    assert len(mail.outbox) == 2 and third.sent == []


def test_the_command_exits_non_zero_when_a_send_failed(project, settings):
    settings.EMAIL_BACKEND = "tests.digests.helpers.FailingBackend"
    maria = person("maria")
    project.account_managers.add(maria)
    raised(project, NOON, to=[maria])
    helpers.FAIL_FOR.add("maria@example.com")
    try:
        with pytest.raises(CommandError, match="1 digest"):
            call_command("send_digests", "--period", "daily", "--date", "2026-11-03", verbosity=0)
    finally:
        helpers.FAIL_FOR.clear()


def test_a_failed_send_is_given_up_after_max_attempts(project, settings):
    settings.EMAIL_BACKEND = "tests.digests.helpers.FailingBackend"
    maria = person("maria")
    project.account_managers.add(maria)
    raised(project, NOON, to=[maria])
    helpers.FAIL_FOR.add("maria@example.com")
    try:
        for _ in range(v.MAX_ATTEMPTS + 2):
            send()
    finally:
        helpers.FAIL_FOR.clear()
    assert DigestSending.objects.get().attempts == v.MAX_ATTEMPTS
    assert send().given_up == 1 and mail.outbox == []


# --- who, and which alerts --------------------------------------------------------------------


def test_off_daily_and_weekly(project):
    off, daily, weekly = (
        person("off", digest=av.DIGEST_OFF),
        person("daily"),
        person("weekly", digest=av.DIGEST_WEEKLY),
    )
    nobody = person("nopref")
    AlertPreference.objects.filter(user=nobody).delete()  # no row: the defaults, no digest
    project.account_managers.add(off, daily, weekly, nobody)
    raised(project, NOON, to=[off, daily, weekly, nobody])
    send(v.DIGEST_DAILY)
    assert recipients() == ["daily@example.com"]
    mail.outbox.clear()
    send(v.DIGEST_WEEKLY, now=at("2026-11-10 07:00"))
    assert recipients() == ["weekly@example.com"]
    assert mail.outbox[0].subject.startswith("layersadmin weekly digest: 1 new alert, week 45")


def test_nothing_to_report_sends_nothing_and_is_recorded(project):
    maria = person("maria")
    project.account_managers.add(maria)
    result = send()
    assert mail.outbox == [] and [u for u, _, _ in result.empty] == ["maria"]
    assert DigestSending.objects.get().status == v.EMPTY
    raised(project, NOON, to=[maria])  # cannot happen (alerts open now), but: not re-evaluated
    assert send().done == 1 and mail.outbox == []


def test_a_period_not_over_is_not_sent(project):
    maria = person("maria")
    project.account_managers.add(maria)
    raised(project, NOON, to=[maria])
    result = send(now=at("2026-11-03 23:00"))
    assert result.not_over == 1 and mail.outbox == [] and not DigestSending.objects.exists()


def test_without_an_address_nothing_is_sent(project):
    nobody = person("nobody", email="")
    project.account_managers.add(nobody)
    raised(project, NOON, to=[nobody])
    assert send().no_address == 1 and mail.outbox == []


def test_dry_run_sends_and_records_nothing(project):
    maria = person("maria")
    project.account_managers.add(maria)
    raised(project, NOON, to=[maria])
    result = send(dry_run=True)
    assert result.would_send == [("maria", DAY, 1)]
    assert mail.outbox == [] and not DigestSending.objects.exists()


def alert_titles(message) -> set[str]:
    return {t for t in ("Kept", "Muted", "Unfollowed", "Other") if t in message.body}


def test_muted_project_excluded_now_and_when_raised(project):
    maria = person("maria")
    quiet = ProjectFactory(name="Quiet Co")
    project.account_managers.add(maria)
    quiet.account_managers.add(maria)
    # Through the real service: a project muted when the alert opens tells nobody.
    project_mute_set(user=maria, project=quiet, days="7", now=NOON - dt.timedelta(hours=1))
    AdsContentFactory(project=quiet, override="include", organic_score=2.0, title="Muted")
    alerts_evaluate_creatives(project=quiet, now=NOON)
    raised(project, NOON, to=[maria], title="Kept")
    # Muted after the alert opened, still muted when the digest goes: left out too.
    other = ProjectFactory(name="Later muted")
    other.account_managers.add(maria)
    raised(other, NOON, to=[maria], title="Muted")
    ProjectMute.objects.create(user=maria, project=other, until=LATER + dt.timedelta(days=1))
    send()
    assert alert_titles(mail.outbox[0]) == {"Kept"}
    assert "1 new alert" in mail.outbox[0].subject


def test_rule_not_followed_excluded(project):
    maria = person("maria")
    project.account_managers.add(maria)
    AlertPreference.objects.filter(user=maria).update(ignored_rules=[av.EXCLUDED_HIGH])
    raised(project, NOON, to=[maria], title="Kept")
    raised(project, NOON, to=[maria], title="Unfollowed", rule=av.EXCLUDED_HIGH)
    # Through the real service too: a rule not followed makes no notification.
    AdsContentFactory(project=project, override="exclude", organic_score=8.0, title="Unfollowed")
    alerts_evaluate_creatives(project=project, now=NOON)
    send()
    assert alert_titles(mail.outbox[0]) == {"Kept"}


def test_another_managers_project_excluded(project):
    maria, olga = person("maria"), person("olga")
    project.account_managers.add(maria)
    others = ProjectFactory(name="Olga's")
    others.account_managers.add(olga)
    raised(project, NOON, to=[maria], title="Kept")
    raised(others, NOON, to=[olga], title="Other")
    # A notification left from when Maria managed it: she no longer does.
    raised(others, NOON, to=[maria, olga], title="Other")
    send()
    by_to = {m.to[0]: alert_titles(m) for m in mail.outbox}
    assert by_to == {"maria@example.com": {"Kept"}, "olga@example.com": {"Other"}}


def test_period_boundaries_in_a_non_utc_zone(project):
    paris = person("paris", tz="Europe/Paris")
    utc = person("utc")
    project.account_managers.add(paris, utc)
    for when, title in (
        ("2026-11-02 22:59:59", "A"),  # 2 Nov 23:59:59 in Paris
        ("2026-11-02 23:00:00", "B"),  # 3 Nov 00:00 in Paris
        ("2026-11-03 22:59:59", "C"),  # 3 Nov 23:59:59 in Paris
        ("2026-11-03 23:00:00", "D"),  # 4 Nov 00:00 in Paris, still 3 Nov in UTC
    ):
        raised(project, at(when), to=[paris, utc], title=f"Title {title}")
    send()
    bodies = {m.to[0]: m.body for m in mail.outbox}

    def titles(body):
        return {t for t in "ABCD" if f"Title {t}" in body}

    assert titles(bodies["paris@example.com"]) == {"B", "C"}
    assert titles(bodies["utc@example.com"]) == {"C", "D"}
    rows = dict(DigestSending.objects.values_list("user__username", "timezone"))
    assert rows == {"paris": "Europe/Paris", "utc": "UTC"}


def test_bad_command_input_is_refused_cleanly():
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("send_digests", "--period", "daily", "--date", "3/11/2026")
    with pytest.raises(CommandError):
        call_command("send_digests", "--period", "hourly")


def test_command_output_names_each_outcome(project):
    maria = person("maria")
    project.account_managers.add(maria)
    raised(project, NOON, to=[maria])
    person("idle")
    out = io.StringIO()
    call_command(
        "send_digests", "--period", "daily", "--date", "2026-11-03", "--dry-run", stdout=out
    )
    out = out.getvalue()
    assert "would send: maria, daily from 2026-11-03, 1 alert(s)" in out
    assert "nothing to report: idle" in out
    assert "dry run: nothing sent or recorded" in out
