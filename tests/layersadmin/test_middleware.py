"""layersadmin/middleware.py: idle sign-out with one session write a minute."""

from __future__ import annotations

import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext

from layersadmin.middleware import RENEWED_KEY, renew_interval
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def session_writes(client, url: str = "/healthz") -> int:
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    return sum(
        "django_session" in q["sql"] and q["sql"].lstrip().upper().startswith(("UPDATE", "INSERT"))
        for q in queries.captured_queries
    )


def test_requests_within_the_interval_do_not_write_the_session(client):
    client.force_login(UserFactory())
    client.get("/healthz")  # the first request stamps the renewal
    assert [session_writes(client) for _ in range(3)] == [0, 0, 0]


def test_a_stale_session_is_renewed_once(client):
    client.force_login(UserFactory())
    client.get("/healthz")
    store = client.session
    store[RENEWED_KEY] -= renew_interval()
    store.save()
    assert session_writes(client) == 1
    assert session_writes(client) == 0


def test_short_sessions_renew_within_a_hundredth_of_their_limit(settings):
    settings.SESSION_COOKIE_AGE = 600
    assert renew_interval() == 6
    settings.SESSION_COOKIE_AGE = 8 * 3600
    assert renew_interval() == 60


def test_an_expired_session_cookie_creates_no_session(client):
    client.force_login(UserFactory())
    Session.objects.all().delete()  # expired and cleared upstream of this request
    client.get("/healthz")
    assert Session.objects.count() == 0
