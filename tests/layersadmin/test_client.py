"""The Layers client: retry table, Retry-After, idempotency keys, errors, redaction, paging."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from layersadmin.layers import (
    LayersAPIError,
    LayersClient,
    LayersOutcomeUnknown,
    LayersProtocolError,
    LayersUnavailable,
)
from layersadmin.layers.client import parse_retry_after
from layersadmin.layers.ratelimit import RatePacer
from tests.layersadmin.scripted_server import ScriptedServer

SECRET = "lp_test_ABCDEFGHIJKLMNOP_s3cr3t-canary-value-that-must-never-leak-0000"

# The error examples from the seeds (001: 400 VALIDATION; 000: 422 without requestId).
SEED_400 = {
    "error": {"code": "VALIDATION", "message": "Invalid patch body.", "requestId": "req_01ABC"}
}
SEED_422 = {
    "error": {
        "code": "VALIDATION",
        "message": "metric=roas requires paid data. Filter sourceType to content_container or "
        "manual, or pick an organic metric.",
    }
}


@pytest.fixture
def server():
    with ScriptedServer() as srv:
        yield srv


@pytest.fixture
def sleeps():
    return []


@pytest.fixture
def client(server, sleeps):
    c = LayersClient(
        base_url=server.base_url,
        api_key=SECRET,
        max_attempts=4,
        read_timeout=2,
        sleep=sleeps.append,
        tier="unlimited",  # pacing has tests of its own (test_ratelimit.py)
    )
    yield c
    c.close()


@pytest.mark.parametrize("status", [500, 502, 503, 504, 429])
def test_get_is_retried_on_transient_statuses(server, client, status):
    server.script = [(status, {}, {"error": {"code": "X", "message": "m"}}), (200, {}, {"a": 1})]
    assert client.request("GET", "/whoami") == {"a": 1}
    assert len(server.requests) == 2
    assert client.stats.retries == 1
    assert client.stats.throttled == (1 if status == 429 else 0)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422])
def test_other_4xx_are_never_retried(server, client, status):
    server.script = [(status, {}, {"error": {"code": "NOPE", "message": "no", "requestId": "r"}})]
    with pytest.raises(LayersAPIError) as info:
        client.request("GET", "/projects/x")
    assert info.value.status == status and info.value.code == "NOPE"
    assert len(server.requests) == 1


def test_get_gives_up_after_max_attempts_as_unavailable(server, client):
    server.script = [(503, {}, {"error": {"code": "UNAVAILABLE", "message": "down"}})] * 4
    with pytest.raises(LayersUnavailable):
        client.request("GET", "/whoami")
    assert len(server.requests) == 4


def test_dropped_connection_on_get_is_retried(server, client):
    server.script = [("drop", {}, b""), (200, {}, {"ok": 1})]
    assert client.request("GET", "/whoami") == {"ok": 1}
    assert len(server.requests) == 2


def test_retry_after_seconds_is_honoured(server, client, sleeps):
    server.script = [
        (429, {"Retry-After": "7"}, {"error": {"code": "RATE_LIMITED"}}),
        (200, {}, {}),
    ]
    client.request("GET", "/whoami")
    assert 7 <= sleeps[0] < 7.2


def test_retry_after_is_capped(server, client, sleeps):
    client.retry_after_cap = 3
    server.script = [(429, {"Retry-After": "3600"}, {}), (200, {}, {})]
    client.request("GET", "/whoami")
    assert sleeps[0] < 3.2


def test_retry_after_http_date():
    now = datetime(2026, 11, 1, 12, 0, 0, tzinfo=UTC)
    header = format_datetime(now + timedelta(seconds=30), usegmt=True)
    assert parse_retry_after(header, now=now) == pytest.approx(30)
    assert parse_retry_after("12") == 12
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_write_reuses_one_idempotency_key_on_every_attempt(server, client):
    server.script = [("drop", {}, b""), (502, {}, {}), (200, {}, {"adsContentId": "a"})]
    client.request("PATCH", "/projects/p/ads-content/a", json={"override": "include"})
    keys = {r["headers"]["Idempotency-Key"] for r in server.requests}
    assert len(server.requests) == 3 and len(keys) == 1


def test_explicit_idempotency_key_is_sent(server, client):
    client.request("POST", "/projects", json={"name": "x"}, idempotency_key="key-123")
    assert server.requests[0]["headers"]["Idempotency-Key"] == "key-123"


def test_write_without_answer_is_outcome_unknown_not_refused(server, client):
    server.script = [("drop", {}, b"")] * 4
    with pytest.raises(LayersOutcomeUnknown) as info:
        client.request("PATCH", "/projects/p/ads-content/a", json={"override": None})
    assert not isinstance(info.value, LayersAPIError)


def test_seed_error_examples_are_parsed(server, client):
    server.script = [(400, {"X-Request-Id": "req_HEADER"}, SEED_400)]
    with pytest.raises(LayersAPIError) as info:
        client.request("PATCH", "/projects/p/ads-content/a", json={})
    err = info.value
    assert (err.status, err.code, err.message, err.request_id) == (
        400,
        "VALIDATION",
        "Invalid patch body.",
        "req_01ABC",
    )
    server.script = [(422, {"X-Request-Id": "req_FROM_HEADER"}, SEED_422)]
    with pytest.raises(LayersAPIError) as info:
        client.request("GET", "/projects/p/top-performers", params={"metric": "roas"})
    assert info.value.code == "VALIDATION" and info.value.request_id == "req_FROM_HEADER"
    assert "requires paid data" in str(info.value)


def test_error_without_envelope_still_has_a_code(server, client):
    server.script = [(404, {}, b"<html>not found</html>")]
    with pytest.raises(LayersAPIError) as info:
        client.request("GET", "/content/x")
    assert info.value.code == "HTTP_404"


def test_non_json_success_is_a_protocol_error(server, client):
    server.script = [(200, {}, b"not json")]
    with pytest.raises(LayersProtocolError):
        client.request("GET", "/whoami")


def test_pagination_follows_cursors_and_passes_them_verbatim(server, client):
    server.script = [
        (200, {}, {"items": [{"id": "1"}], "nextCursor": "c/1+=="}),
        (200, {}, {"items": [{"id": "2"}], "nextCursor": None}),
    ]
    items = list(client.iter_items("/projects", {"limit": 1}))
    assert [i["id"] for i in items] == ["1", "2"]
    assert "cursor=c%2F1%2B%3D%3D" in server.requests[1]["path"]


def test_a_cursor_that_repeats_itself_stops_the_walk(server, client):
    page = (200, {}, {"items": [{"id": "1"}], "nextCursor": "same"})
    server.script = [page, page, page]
    with pytest.raises(LayersProtocolError):
        list(client.iter_items("/projects"))
    assert len(server.requests) == 2


def test_key_is_sent_as_bearer_and_never_leaks(server, client, caplog):
    caplog.set_level(logging.DEBUG)
    server.script = [(503, {}, {}), (403, {}, {"error": {"code": "FORBIDDEN_SCOPE"}})]
    with pytest.raises(LayersAPIError) as info:
        client.request("GET", "/projects")
    assert server.requests[0]["headers"]["Authorization"] == f"Bearer {SECRET}"
    assert server.requests[0]["headers"]["User-Agent"].startswith("layersadmin/")
    for text in (str(info.value), repr(info.value), repr(client), caplog.text):
        assert SECRET not in text
        assert "s3cr3t" not in text


def test_pacer_spaces_requests_at_the_tier_rate():
    clock = [0.0]
    slept = []

    def sleep(seconds):
        slept.append(seconds)
        clock[0] += seconds

    pacer = RatePacer("standard", clock=lambda: clock[0], sleep=sleep)
    # 120 per minute: a burst of 6 (5 %), then one every 60/114 s (95 % of the limit).
    for _ in range(6):
        pacer.acquire("read-light")
    assert slept == []
    pacer.acquire("read-light")
    pacer.acquire("read-light")
    assert slept == [pytest.approx(60 / 114), pytest.approx(60 / 114)]


def test_pacer_ignores_the_sandboxs_rate_limit_headers():
    """X-RateLimit-Limit/-Remaining are the sandbox's invention: never read for pacing."""
    slept = []
    pacer = RatePacer("standard", clock=lambda: 0.0, sleep=slept.append)
    pacer.observe(
        "read-light",
        {"X-RateLimit-Limit": "1", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "60"},
    )
    pacer.acquire("read-light")
    assert slept == [] and pacer.limit("read-light") == 120
    assert pacer.responses == {"read-light": 1}


def test_unlimited_tier_does_not_pace():
    slept = []
    pacer = RatePacer("unlimited", sleep=slept.append)
    pacer.observe("read-light", {"X-RateLimit-Limit": "0", "X-RateLimit-Remaining": "0"})
    for _ in range(500):
        pacer.acquire("read-light")
    assert slept == []
