"""The /_sandbox control surface (advance, reset, faults, state, info) and fault injection."""

from __future__ import annotations

import time

import pytest
import requests

from .conftest import Api, assert_error


@pytest.fixture
def world(sandbox_factory):
    api = Api(sandbox_factory(projects=2, creatives_per_project=40))
    return api, api.projects()[0]["id"]


def snapshot(api, pid):
    return {
        "content": api.walk(f"/projects/{pid}/content", {"limit": 200}),
        "ads": api.walk(f"/projects/{pid}/ads-content", {"limit": 200}),
        "audit": api.walk("/audit-log", {"limit": 200}),
        "views": api.ok("GET", f"/projects/{pid}/top-performers?metric=views&window=7d&limit=100"),
    }


def test_advance_changes_everything_a_sync_must_notice(world):
    api, pid = world
    before = snapshot(api, pid)
    r = api.control("POST", "/_sandbox/advance?hours=6")
    assert r.status_code == 200
    summary = r.json()
    assert (
        summary["previous"] == "2026-11-01T12:00:00Z" and summary["now"] == "2026-11-01T18:00:00Z"
    )
    changes = summary["projects"][pid]
    after = snapshot(api, pid)
    old_c = {c["id"]: c for c in before["content"]}
    new_c = {c["id"]: c for c in after["content"]}
    # new containers, created inside the advanced interval
    created = set(new_c) - set(old_c)
    assert created and created == set(changes["containersCreated"])
    assert all(
        "2026-11-01T12:00:00Z" < new_c[c]["createdAt"] <= "2026-11-01T18:00:00Z" for c in created
    )
    since = api.walk(f"/projects/{pid}/content", {"since": "2026-11-01T12:00:01Z"})
    assert {c["id"] for c in since} == created
    # queued/processing ones completed: preview and completedAt appear
    completed = [
        c
        for c in old_c
        if old_c[c]["status"] in ("queued", "processing") and new_c[c]["status"] == "completed"
    ]
    assert completed
    for cid in completed:
        assert new_c[cid]["preview"] and new_c[cid]["completedAt"] and old_c[cid]["preview"] is None
    # new ads-content rows for newly completed generated containers
    old_a = {a["adsContentId"]: a for a in before["ads"]}
    new_a = {a["adsContentId"]: a for a in after["ads"]}
    added = set(new_a) - set(old_a)
    assert added == set(changes["adsContentCreated"])
    assert {"cnt_" + new_a[a]["sourceId"] for a in added} <= set(changes["containersCompleted"])
    # scores drift: scoredAt moves with the score
    drifted = [a for a in old_a if new_a[a]["organicScore"] != old_a[a]["organicScore"]]
    assert drifted and set(drifted) <= set(changes["scoresChanged"])
    assert all(new_a[a]["scoredAt"] > "2026-11-01T12:00:00Z" for a in changes["scoresChanged"])
    # another actor (the teammate key of the same org) changed an override
    teammate = api.ok("GET", "/whoami", key="teammate")
    [flipped] = changes["overridesChanged"]
    assert new_a[flipped]["override"] != old_a[flipped]["override"]
    event = next(e for e in after["audit"] if e["projectId"] == pid)
    assert event["apiKeyId"] == teammate["apiKeyId"] and event["data"]["adsContentId"] == flipped
    if new_a[flipped]["override"]:
        assert (
            new_a[flipped]["overrideSetBy"]
            == f"{api.server.keys['teammate'][:24]} ({teammate['apiKeyId']})"
        )
    # metrics accrue
    assert after["views"] != before["views"]
    # and the project list itself is stable
    assert api.ok("GET", f"/projects/{pid}")["id"] == pid


def test_advance_validation(world):
    api, _ = world
    for q in ("hours=0", "hours=-1", "hours=abc", "hours=100000"):
        r = api.control("POST", f"/_sandbox/advance?{q}")
        assert r.status_code == 400 and r.json()["error"]["code"] == "VALIDATION"
    body = api.control("POST", "/_sandbox/advance", json={"hours": 2}).json()
    assert body["now"] == "2026-11-01T14:00:00Z"


def test_clock_only_moves_on_advance(world):
    api, pid = world
    a = api.ok("GET", f"/projects/{pid}/top-performers?metric=views&window=7d")
    time.sleep(1.1)
    assert api.ok("GET", f"/projects/{pid}/top-performers?metric=views&window=7d") == a


def test_reset_restores_the_initial_state(world):
    api, pid = world
    before = snapshot(api, pid)
    api.control("POST", "/_sandbox/advance?hours=30")
    api.post("/projects", json={"name": "Temp Co", "timezone": "UTC"})
    api.control("POST", "/_sandbox/faults", json={"rate": 0.5})
    r = api.control("POST", "/_sandbox/reset")
    assert r.status_code == 200 and r.json() == {"ok": True, "now": "2026-11-01T12:00:00Z"}
    assert api.control("GET", "/_sandbox/faults").json()["rate"] == 0.0
    assert snapshot(api, pid) == before
    assert "Temp Co" not in {p["name"] for p in api.projects()}


def test_state_and_info(world):
    api, pid = world
    info = api.control("GET", "/_sandbox/info").json()
    assert info["baseUrl"] == api.server.base_url and info["keys"] == api.server.keys
    state = api.control("GET", f"/_sandbox/state?projectId={pid}").json()
    [entry] = state["projects"]
    assert entry["id"] == pid and entry["containers"] == 40 and entry["adsContent"] == 40
    assert api.control("GET", "/_sandbox/nope").status_code == 404


# ----------------------------------------------------------------------------- faults
def set_faults(api, **body):
    r = api.control("POST", "/_sandbox/faults", json=body)
    assert r.status_code == 200, r.text
    return r.json()


def test_faults_config_roundtrip_and_validation(world):
    api, _ = world
    state = set_faults(api, rate=0.15, kinds=["500", "slow"], seed=3, slowMs=100)
    assert {k: state[k] for k in ("rate", "kinds", "seed", "slowMs")} == {
        "rate": 0.15,
        "kinds": ["500", "slow"],
        "seed": 3,
        "slowMs": 100,
    }
    assert api.control("GET", "/_sandbox/faults").json()["kinds"] == ["500", "slow"]
    default = set_faults(api, rate=0.1)
    assert set(default["kinds"]) == {
        "500",
        "502",
        "503",
        "429",
        "slow",
        "drop_before",
        "drop_after",
    }
    for bad in ({"rate": 2}, {"kinds": ["explode"]}, {"next": ["nope"]}, {"rate": "x"}):
        assert api.control("POST", "/_sandbox/faults", json=bad).status_code == 400


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [
        ("500", 500, "INTERNAL"),
        ("502", 502, "UPSTREAM_UNAVAILABLE"),
        ("503", 503, "UPSTREAM_UNAVAILABLE"),
    ],
)
def test_5xx_faults_carry_the_envelope(world, kind, status, code):
    api, pid = world
    set_faults(api, rate=1.0, kinds=[kind])
    r = api.get(f"/projects/{pid}")
    assert_error(r, status, code)
    assert r.headers["X-RateLimit-Endpoint-Class"] == "read-light"
    if status == 503:
        assert r.headers["Retry-After"] == "1"
    # control and media are never faulted
    assert api.control("GET", "/_sandbox/faults").status_code == 200
    set_faults(api, rate=0)
    assert api.get(f"/projects/{pid}").status_code == 200


def test_5xx_on_write_applies_nothing(world):
    api, pid = world
    row = api.ok("GET", f"/projects/{pid}/ads-content")["items"][0]
    set_faults(api, next=["500"])
    url = f"/projects/{pid}/ads-content/{row['adsContentId']}"
    new = "include" if row["override"] != "include" else "exclude"
    assert api.patch(url, json={"override": new}).status_code == 500
    assert api.ok("GET", f"/projects/{pid}/ads-content")["items"][0] == row


def test_429_burst_then_recovery(world):
    api, _ = world
    set_faults(api, next=["429"])
    got = [api.get("/whoami") for _ in range(4)]
    assert [r.status_code for r in got] == [429, 429, 429, 200]
    for r in got[:3]:
        assert_error(r, 429, "RATE_LIMITED")
        assert r.headers["Retry-After"] == "1"
    # the burst belongs to the key that drew it
    set_faults(api, next=["429"])
    assert api.get("/whoami").status_code == 429
    assert api.get("/whoami", key="readonly").status_code == 200


def test_slow_fault_and_latency(world, sandbox_factory):
    api, _ = world
    set_faults(api, next=["slow"], slowMs=400)
    t = time.monotonic()
    assert api.get("/whoami").status_code == 200
    assert time.monotonic() - t >= 0.4
    slow = Api(sandbox_factory(projects=1, creatives_per_project=1, latency_ms=250))
    t = time.monotonic()
    assert slow.get("/whoami").status_code == 200
    assert time.monotonic() - t >= 0.25


def test_drop_before_does_not_apply(world):
    api, pid = world
    row = next(r for r in api.walk(f"/projects/{pid}/ads-content") if r["override"] is None)
    url = f"/projects/{pid}/ads-content/{row['adsContentId']}"
    set_faults(api, next=["drop_before"])
    with pytest.raises(requests.ConnectionError):
        api.patch(url, json={"override": "exclude"})
    current = next(
        r
        for r in api.walk(f"/projects/{pid}/ads-content")
        if r["adsContentId"] == row["adsContentId"]
    )
    assert current["override"] is None


def test_drop_after_applies_then_idempotent_retry_replays(world):
    api, pid = world
    row = next(r for r in api.walk(f"/projects/{pid}/ads-content") if r["override"] is None)
    url = f"/projects/{pid}/ads-content/{row['adsContentId']}"
    h = {"Idempotency-Key": "retry-me"}
    set_faults(api, next=["drop_after"])
    with pytest.raises(requests.ConnectionError):
        api.patch(url, json={"override": "exclude", "note": "dropped"}, headers=h)
    current = next(
        r
        for r in api.walk(f"/projects/{pid}/ads-content")
        if r["adsContentId"] == row["adsContentId"]
    )
    assert current["override"] == "exclude"  # the write was applied
    retry = api.patch(url, json={"override": "exclude", "note": "dropped"}, headers=h)
    assert retry.status_code == 200 and retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json() == current
    # POST too
    set_faults(api, next=["drop_after"])
    body = {"name": "Dropped Co", "timezone": "UTC"}
    with pytest.raises(requests.ConnectionError):
        api.post("/projects", json=body, headers={"Idempotency-Key": "p1"})
    again = api.post("/projects", json=body, headers={"Idempotency-Key": "p1"})
    assert again.headers["Idempotent-Replayed"] == "true"
    assert [p["name"] for p in api.projects(search="Dropped")] == ["Dropped Co"]


def test_drop_after_on_get_is_a_plain_drop(world):
    api, _ = world
    set_faults(api, next=["drop_after"])
    with pytest.raises(requests.ConnectionError):
        api.get("/whoami")
    assert api.get("/whoami").status_code == 200


def test_fault_rate_is_seeded_and_deterministic(sandbox_factory):
    runs = []
    for _ in range(2):
        srv = sandbox_factory(
            projects=1,
            creatives_per_project=3,
            fault_rate=0.5,
            fault_kinds=["500", "503"],
            fault_seed=11,
        )
        api = Api(srv)
        runs.append([api.get("/whoami").status_code for _ in range(30)])
    assert runs[0] == runs[1]
    assert {200, 500, 503} == set(runs[0])
    state = Api(srv).control("GET", "/_sandbox/faults").json()
    assert sum(state["injected"].values()) == sum(1 for s in runs[1] if s != 200)


def test_mixed_faults_never_break_the_server(sandbox_factory):
    srv = sandbox_factory(
        projects=1, creatives_per_project=10, fault_rate=0.6, fault_seed=5, slow_ms=20
    )
    api = Api(srv)
    seen = set()
    for _ in range(60):
        try:
            seen.add(api.get("/whoami").status_code)
        except requests.ConnectionError:
            seen.add("drop")
    assert {200, 429, "drop"} <= seen and seen & {500, 502, 503}
    api.control("POST", "/_sandbox/faults", json={"rate": 0})
    assert api.get("/whoami").status_code == 200


# ----------------------------------------------------------------------------- concurrency
def test_several_clients_at_once(sandbox_factory):
    import threading

    srv = sandbox_factory(projects=2, creatives_per_project=150)
    pid = Api(srv).projects()[0]["id"]
    expected = [c["id"] for c in Api(srv).walk(f"/projects/{pid}/content", {"limit": 200})]
    results, errors = [], []

    def reader():
        try:
            api = Api(srv)
            for _ in range(3):
                results.append(
                    [c["id"] for c in api.walk(f"/projects/{pid}/content", {"limit": 17})]
                )
        except Exception as e:  # noqa: BLE001 - surfaced by the assert below
            errors.append(e)

    def writer():
        api = Api(srv)
        for r in api.walk(f"/projects/{pid}/ads-content", {"limit": 200})[:40]:
            api.ok(
                "PATCH",
                f"/projects/{pid}/ads-content/{r['adsContentId']}",
                json={"override": "include"},
            )

    threads = [threading.Thread(target=reader) for _ in range(6)] + [
        threading.Thread(target=writer)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    assert len(results) == 18 and all(r == expected for r in results)
    included = Api(srv).walk(f"/projects/{pid}/ads-content", {"override": "include"})
    assert len(included) >= 40


def test_keep_alive_and_content_length(world):
    import http.client

    api, pid = world
    conn = http.client.HTTPConnection(api.server.host, api.server.port, timeout=5)
    headers = {"Authorization": f"Bearer {api.server.keys['main']}"}
    sockets = []
    for path in ("/v1/whoami", f"/v1/projects/{pid}/content?limit=50", "/v1/nope", "/v1/whoami"):
        conn.request("GET", path, headers=headers)
        resp = conn.getresponse()
        body = resp.read()
        assert int(resp.headers["Content-Length"]) == len(body)
        assert resp.headers.get("Connection") != "close"
        sockets.append(conn.sock)
    assert all(s is sockets[0] for s in sockets)  # one connection served all four requests
    conn.close()
