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


# --- the Content-Security-Policy follows LAYERS_API_BASE_URL -------------------------------


def csp_directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}


def test_csp_allows_images_and_media_from_the_configured_api_on_any_port(client, settings):
    settings.LAYERS_API_BASE_URL = "http://127.0.0.1:9124/v1"
    directives = csp_directives(client.get("/accounts/login/"))
    assert "http://127.0.0.1:9124" in directives["img-src"]
    assert "http://127.0.0.1:9124" in directives["media-src"]
    assert not any("8001" in source for values in directives.values() for source in values)
    # Nothing else is opened to it: scripts, styles and connections stay same-origin.
    assert directives["script-src"] == ["'self'"]
    assert directives["connect-src"] == ["'self'"]


def test_csp_names_the_api_origin_only(client, settings):
    settings.LAYERS_API_BASE_URL = "https://user:pw@api.layers.example:8443/v1/"
    directives = csp_directives(client.get("/accounts/login/"))
    assert "https://api.layers.example:8443" in directives["img-src"]
    assert not any("pw" in source or "/v1" in source for source in directives["img-src"])


def test_csp_follows_a_change_made_while_running(client, settings):
    """The demo points the setting at its sandbox after start-up."""
    settings.LAYERS_API_BASE_URL = "http://127.0.0.1:9125/v1"
    first = csp_directives(client.get("/accounts/login/"))
    settings.LAYERS_API_BASE_URL = "http://127.0.0.1:9126/v1"
    second = csp_directives(client.get("/accounts/login/"))
    assert "http://127.0.0.1:9125" in first["img-src"]
    assert "http://127.0.0.1:9126" in second["img-src"]
    assert "http://127.0.0.1:9125" not in second["img-src"]
