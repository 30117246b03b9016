"""The client's policies against a scripted server: the tier (configured or /whoami), 429
waits, max_wait and LayersBusy, fallbacks for parameters only REFERENCE names, page ends."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.exceptions import ImproperlyConfigured

from layersadmin.layers import (
    LayersAPIError,
    LayersBusy,
    LayersClient,
    LayersError,
    LayersOutcomeUnknown,
    LayersProtocolError,
    LayersUnavailable,
    get_client,
)
from layersadmin.layers.client import THROTTLED_JITTER, THROTTLED_WAIT, parse_retry_after
from layersadmin.layers.ratelimit import RatePacer
from tests.layersadmin.scripted_server import ScriptedServer
from tests.layersadmin.test_settings import run_settings

SECRET = "lp_test_ABCDEFGHIJKLMNOP_s3cr3t-canary-value-that-must-never-leak-1111"
BUSY_30 = "Layers is busy: nothing was changed, try again in 30 s."


def refused(status=422, code="VALIDATION", path=None):
    details = {"issues": [{"path": path, "message": "no"}]} if path is not None else None
    error = {"code": code, "message": "Invalid query.", "requestId": "req_1"}
    if details:
        error["details"] = details
    return (status, {}, {"error": error})


def page(ids, cursor=None, *, absent=False):
    body = {"items": [{"id": i} for i in ids]}
    if not absent:
        body["nextCursor"] = cursor
    return (200, {}, body)


def query_of(request) -> dict[str, list[str]]:
    return parse_qs(urlsplit(request["path"]).query)


@pytest.fixture(scope="module")
def shared_server():
    with ScriptedServer() as srv:  # one server for the module: its shutdown costs 0.5 s
        yield srv


@pytest.fixture
def server(shared_server):
    shared_server.script, shared_server.requests = [], []
    yield shared_server
    shared_server.script = []


@pytest.fixture
def sleeps():
    return []


def build(server, sleeps, **options) -> LayersClient:
    options.setdefault("tier", "unlimited")
    options.setdefault("max_attempts", 4)
    return LayersClient(
        base_url=server.base_url, api_key=SECRET, read_timeout=2, sleep=sleeps.append, **options
    )


@pytest.fixture
def client(server, sleeps):
    c = build(server, sleeps)
    yield c
    c.close()


def frozen_pacer(slept=None) -> RatePacer:
    """A pacer whose time stands still: the burst goes at once, then every slot is a wait."""
    return RatePacer(clock=lambda: 0.0, sleep=(slept if slept is not None else []).append)


# --- the tier -----------------------------------------------------------------------------------


def test_tier_argument_is_validated_and_wins_over_whoami(server, sleeps):
    with pytest.raises(ValueError, match="tier must be one of"):
        build(server, sleeps, tier="gold")
    c = build(server, sleeps, tier="pilot")
    c.ensure_tier()
    assert server.requests == []  # configured: /whoami is not needed for pacing
    server.script = [(200, {}, {"rateLimitTier": "standard"})]
    c.whoami()
    assert c.pacer.tier == "pilot" and c.pacer.limit("read-light") == 1200
    c.close()


@pytest.mark.parametrize(
    ("reported", "paced"),
    [("partner", "partner"), ("pilot", "pilot"), ("scale", "standard"), (None, "standard"),
     ("unlimited", "standard"), ("internal", "standard")],
)  # fmt: skip
def test_without_a_configured_tier_whoami_decides_and_unknown_is_standard(
    server, sleeps, reported, paced
):
    c = build(server, sleeps, tier=None)
    assert c.pacer.tier == "standard"  # before asking: the lowest tier
    body = {"organizationId": "org_1"} if reported is None else {"rateLimitTier": reported}
    server.script = [(200, {}, body)]
    c.ensure_tier()
    c.ensure_tier()
    assert len(server.requests) == 1
    assert c.pacer.tier == paced
    c.close()


def test_get_client_passes_the_tier_setting(settings, server):
    settings.LAYERS_API_BASE_URL = server.base_url
    settings.LAYERS_API_KEY = SECRET
    settings.LAYERS_API_TIER = "partner"
    assert get_client().pacer.limit("write-light") == 3000
    assert get_client(tier="unlimited").pacer.limit("read-light") is None
    settings.LAYERS_API_TIER = ""
    c = get_client()
    assert c.tier is None and c.pacer.tier == "standard"
    settings.LAYERS_API_TIER = "gold"
    with pytest.raises(ImproperlyConfigured, match="LAYERS_API_TIER"):
        get_client()


def test_an_invalid_tier_setting_is_improperly_configured_naming_the_variable():
    result = run_settings(DEBUG="true", LAYERS_API_TIER="gold")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "LAYERS_API_TIER" in result.stderr
    assert run_settings(DEBUG="true", LAYERS_API_TIER="Partner").returncode == 0


# --- 429 waits ----------------------------------------------------------------------------------


def test_429_without_retry_after_waits_a_whole_window_whatever_the_cap(server, sleeps):
    c = build(server, sleeps, retry_after_cap=2.0)
    server.script = [(429, {}, {"error": {"code": "RATE_LIMITED"}}), (200, {}, {})]
    c.request("GET", "/whoami")
    assert THROTTLED_WAIT >= 60
    assert THROTTLED_WAIT <= sleeps[0] <= THROTTLED_WAIT + THROTTLED_JITTER
    c.close()


def test_429_waits_are_a_named_option(server, sleeps):
    c = build(server, sleeps, throttled_wait=90.0)
    server.script = [(429, {}, {}), (200, {}, {})]
    c.request("GET", "/whoami")
    assert 90 <= sleeps[0] <= 90 + THROTTLED_JITTER
    c.close()


def test_retry_after_as_an_http_date_is_honoured(server, client, sleeps):
    when = datetime.now(UTC) + timedelta(seconds=30)
    server.script = [(429, {"Retry-After": format_datetime(when, usegmt=True)}, {}), (200, {}, {})]
    client.request("GET", "/whoami")
    assert 28 <= sleeps[0] <= 30.2  # the date has whole seconds


def test_retry_after_in_the_past_means_no_wait(server, client, sleeps):
    past = format_datetime(datetime.now(UTC) - timedelta(minutes=5), usegmt=True)
    assert parse_retry_after(past) == 0
    assert parse_retry_after("0") == 0 and parse_retry_after("-3") == 0
    server.script = [(429, {"Retry-After": past}, {}), (200, {}, {})]
    client.request("GET", "/whoami")
    assert sleeps[0] <= 0.1


def test_a_429_holds_the_pacer_for_other_threads(server, sleeps):
    slept: list[float] = []
    c = build(server, sleeps, tier="standard", pacer=frozen_pacer(slept))
    server.script = [(429, {"Retry-After": "20"}, {}), (200, {}, {})]
    c.request("GET", "/whoami")
    assert 20 <= sleeps[0] <= 20.1
    # Time stood still in this test, so the retry itself waited in the pacer for the hold.
    assert slept and 20 <= slept[0] <= 20.1
    c.close()


# --- max_wait and LayersBusy --------------------------------------------------------------------


def test_pacer_wait_past_max_wait_is_busy_without_sleeping_or_sending(server, sleeps):
    slept: list[float] = []
    c = build(server, sleeps, tier="standard", pacer=frozen_pacer(slept))
    for _ in range(6):  # the standard burst
        c.project_get("prj_1", max_wait=3)
    with pytest.raises(LayersBusy) as info:
        c.project_get("prj_1", max_wait=0.1)
    err = info.value
    assert isinstance(err, LayersError) and err.code == "BUSY" and err.retry_after == 1
    assert err.message == "Layers is busy: nothing was changed, try again in 1 s."
    assert len(server.requests) == 6 and slept == [] and sleeps == []
    assert c.stats.busy == 1
    c.project_get("prj_1", max_wait=3)  # 0.53 s of pacing fits in 3 s
    assert slept == [pytest.approx(60 / 114)]
    c.close()


def test_retry_after_past_max_wait_is_busy_at_once(server, client, sleeps):
    server.script = [(429, {"Retry-After": "30"}, {"error": {"code": "RATE_LIMITED"}})]
    with pytest.raises(LayersBusy) as info:
        client.request("GET", "/projects/p", max_wait=3)
    assert info.value.retry_after == 30 and info.value.message == BUSY_30
    assert info.value.status == 429 and info.value.request_id == ""
    assert len(server.requests) == 1 and sleeps == []


def test_429_without_retry_after_is_busy_for_an_interactive_call(server, client, sleeps):
    server.script = [(429, {}, {})]
    with pytest.raises(LayersBusy) as info:
        client.request("PATCH", "/projects/p/ads-content/a", json={"override": None}, max_wait=3)
    assert info.value.retry_after == 60 and sleeps == []


def test_short_retry_after_within_max_wait_is_waited(server, client, sleeps):
    server.script = [(429, {"Retry-After": "2"}, {}), (200, {}, {"ok": 1})]
    assert client.request("GET", "/whoami", max_wait=3) == {"ok": 1}
    assert 2 <= sleeps[0] <= 2.1


def test_max_wait_is_a_budget_for_the_whole_call(server, client, sleeps):
    server.script = [(429, {"Retry-After": "2"}, {}), (429, {"Retry-After": "2"}, {})]
    with pytest.raises(LayersBusy) as info:
        client.request("GET", "/whoami", max_wait=3)
    assert info.value.retry_after == 2 and len(sleeps) == 1


def test_a_write_that_may_have_been_applied_is_outcome_unknown_not_busy(server, client):
    server.script = [("drop", {}, b""), (429, {"Retry-After": "30"}, {})]
    with pytest.raises(LayersOutcomeUnknown) as info:
        client.request("PATCH", "/projects/p/ads-content/a", json={"override": "include"},
                       max_wait=3)  # fmt: skip
    assert not isinstance(info.value, LayersBusy)
    assert "may or may not have been applied" in info.value.message


def test_pacer_wait_after_an_unanswered_write_is_outcome_unknown(server, sleeps):
    c = build(server, sleeps, tier="standard", pacer=frozen_pacer())
    c.request("PATCH", "/projects/p", json={})  # write-light burst: 3
    c.request("PATCH", "/projects/p", json={})
    server.script = [("drop", {}, b"")]
    with pytest.raises(LayersOutcomeUnknown):
        c.request("PATCH", "/projects/p", json={"name": "x"}, max_wait=0.5)
    c.close()


def test_5xx_backoff_past_max_wait_ends_the_retries(server, client):
    server.script = [(503, {}, {"error": {"code": "UNAVAILABLE", "message": "down"}})]
    with pytest.raises(LayersUnavailable):
        client.request("GET", "/whoami", max_wait=0)
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    ("call", "method"),
    [
        (lambda c: c.project_get("prj_1", max_wait=3), "GET"),
        (lambda c: c.project_create(data={"name": "x"}, idempotency_key="k", max_wait=3), "POST"),
        (lambda c: c.project_update("prj_1", data={}, idempotency_key="k", max_wait=3), "PATCH"),
        (lambda c: c.project_archive("prj_1", max_wait=3), "DELETE"),
        (
            lambda c: c.ads_content_override_set(
                "prj_1", "a1", override="include", note=None, idempotency_key="k", max_wait=3
            ),
            "PATCH",
        ),
        (lambda c: c.top_performers("prj_1", metric="views", max_wait=3), "GET"),
        (lambda c: next(c.iter_pages("/projects", {"limit": 5}, max_wait=3)), "GET"),
    ],
)
def test_endpoint_methods_take_max_wait(server, client, sleeps, call, method):
    server.script = [(429, {"Retry-After": "30"}, {})]
    with pytest.raises(LayersBusy) as info:
        call(client)
    assert info.value.message == BUSY_30
    assert [r["method"] for r in server.requests] == [method] and sleeps == []


def test_without_max_wait_a_sync_waits_as_long_as_it_takes(server, client, sleeps):
    server.script = [(429, {"Retry-After": "45"}, {}), (200, {}, {})]
    client.project_get("prj_1")
    assert 45 <= sleeps[0] <= 45.1


# --- fallbacks for parameters only REFERENCE names ----------------------------------------------


def test_a_refused_optional_limit_is_dropped_once_and_recorded(server, client, caplog):
    caplog.set_level(logging.WARNING)
    server.script = [refused(path=["limit"]), page(["1"], "c1"), page(["2"])]
    items = [i for p in client.content_pages("prj_1", since="2026-01-01") for i in p.items]
    assert [i["id"] for i in items] == ["1", "2"]
    queries = [query_of(r) for r in server.requests]
    assert queries[0]["limit"] == ["200"]
    assert "limit" not in queries[1] and queries[1]["since"] == ["2026-01-01"]
    assert "limit" not in queries[2] and queries[2]["cursor"] == ["c1"]
    assert client.stats.dropped_params == [("/projects/prj_1/content", "limit")]
    assert "retrying without limit" in caplog.text and SECRET not in caplog.text


def test_a_dropped_parameter_stays_dropped_for_that_endpoint(server, client):
    server.script = [refused(path=["limit"]), page(["1"]), page(["2"]), page(["3"])]
    list(client.ads_content_pages("prj_1"))
    list(client.ads_content_pages("prj_2"))  # another project: not refused again
    list(client.content_pages("prj_1"))  # another endpoint: still asks with its limit
    assert ["limit" in query_of(r) for r in server.requests] == [True, False, False, True]
    assert client.stats.dropped_params == [("/projects/prj_1/ads-content", "limit")]


def test_ads_content_accepts_sort_and_drops_only_the_parameter_named(server, client):
    server.script = [refused(path=["query", "sort"]), page(["a"])]
    pages = list(client.ads_content_pages("prj_1", sort="scored_at_desc", limit=100))
    assert [p.items for p in pages] == [[{"id": "a"}]]
    first, second = (query_of(r) for r in server.requests)
    assert first["sort"] == ["scored_at_desc"] and first["limit"] == ["100"]
    assert "sort" not in second and second["limit"] == ["100"]
    assert client.stats.dropped_params == [("/projects/prj_1/ads-content", "sort")]


def test_a_refusal_naming_nothing_drops_every_optional_parameter(server, client):
    server.script = [refused(), page(["a"])]
    list(client.ads_content_pages("prj_1", sort="score_asc", override="include"))
    second = query_of(server.requests[1])
    assert "sort" not in second and "limit" not in second and second["override"] == ["include"]
    assert sorted(n for _, n in client.stats.dropped_params) == ["limit", "sort"]


def test_a_second_refusal_is_raised(server, client):
    server.script = [refused(path=["limit"]), refused(path=["since"])]
    with pytest.raises(LayersAPIError) as info:
        list(client.content_pages("prj_1", since="yesterday"))
    assert info.value.status == 422 and len(server.requests) == 2


def test_projects_status_is_never_dropped(server, client):
    server.script = [refused(path=["status"])]
    with pytest.raises(LayersAPIError) as info:
        list(client.projects_pages(status="archived"))
    assert info.value.code == "VALIDATION"
    assert len(server.requests) == 1 and client.stats.dropped_params == []


@pytest.mark.parametrize(
    "answer", [refused(status=400), refused(code="NOPE"), refused(status=404, code="NOT_FOUND")]
)
def test_only_422_validation_falls_back(server, client, answer):
    server.script = [answer]
    with pytest.raises(LayersAPIError):
        list(client.content_pages("prj_1"))
    assert len(server.requests) == 1


def test_no_fallback_after_the_first_page_or_when_nothing_is_optional(server, client):
    server.script = [page(["1"], "c1"), refused(path=["limit"])]
    with pytest.raises(LayersAPIError):
        list(client.content_pages("prj_1"))
    assert len(server.requests) == 2
    server.requests.clear()
    server.script = [refused(path=["limit"])]
    with pytest.raises(LayersAPIError):
        list(client.iter_pages("/projects", {"limit": 5}, optional=()))
    assert len(server.requests) == 1


def test_subclasses_overriding_iter_pages_keep_working(server, sleeps):
    class SmallPages(LayersClient):  # as tests/reliability's SmallPageClient does
        def iter_pages(self, path, params=None, *, max_pages=100_000):
            query = dict(params or {})
            query["limit"] = min(int(query.get("limit", 5)), 5)
            return super().iter_pages(path, query, max_pages=max_pages)

    c = SmallPages(base_url=server.base_url, api_key=SECRET, tier="unlimited")
    server.script = [refused(path=["limit"]), page(["1"])]
    assert [p.items for p in c.ads_content_pages("prj_1", sort="score_asc")] == [[{"id": "1"}]]
    assert query_of(server.requests[0])["limit"] == ["5"]
    assert c.stats.dropped_params == [("/projects/prj_1/ads-content", "limit")]
    c.close()


# --- the end of a list --------------------------------------------------------------------------


def test_a_short_page_is_not_the_end(server, client):
    server.script = [page(["1", "2"], "c1"), page(["3"], "c2"), page([], "c3"), page(["4"])]
    items = [i["id"] for p in client.content_pages("prj_1", limit=200) for i in p.items]
    assert items == ["1", "2", "3", "4"] and len(server.requests) == 4


def test_an_absent_next_cursor_is_the_end(server, client):
    server.script = [page(["1"], "c1"), page(["2"], absent=True), page(["never"])]
    assert [i["id"] for i in client.iter_items("/projects")] == ["1", "2"]
    assert len(server.requests) == 2


@pytest.mark.parametrize("cursor", ["", 42, ["c"]])
def test_a_next_cursor_that_is_not_a_cursor_is_a_protocol_error(server, client, cursor):
    server.script = [(200, {}, {"items": [], "nextCursor": cursor})]
    with pytest.raises(LayersProtocolError):
        list(client.iter_items("/projects"))
