"""ads-content list (filters, sorts, cursors) and the override PATCH (seed 001), audit log."""

from __future__ import annotations

import base64
import json

import pytest

from .conftest import ISO_Z, SEED_001_FIELDS, UUID, Api, assert_error

ROW_FIELDS = SEED_001_FIELDS  # no title, no thumbnailUrl


@pytest.fixture
def big(sandbox_factory):
    return Api(sandbox_factory(projects=1, creatives_per_project=90))


@pytest.fixture
def ads(big):
    pid = big.projects()[0]["id"]
    return pid, big.walk(f"/projects/{pid}/ads-content", {"limit": 200})


def _gate(row):
    if row["override"] == "exclude":
        return False
    return row["override"] == "include" or row["organicScore"] >= 4.0


def test_exactly_n_rows_with_the_seed_shape(big, ads):
    pid, rows = ads
    assert len(rows) == 90 and len({r["adsContentId"] for r in rows}) == 90
    for r in rows:
        assert set(r) == ROW_FIELDS
        assert UUID.match(r["adsContentId"])  # raw UUID, no partner prefix
        assert ISO_Z.match(r["scoredAt"]) and isinstance(r["scoringVersion"], int)
        assert 0.0 <= r["organicScore"] <= 10.0
        assert set(r["eligibility"]) == {"isEligible", "reason"}
        assert r["eligibility"]["isEligible"] == _gate(r)
        assert r["override"] in (None, "include", "exclude")
        assert isinstance(r["activePromotions"], list)
        if r["sourceType"] == "platform_post":
            assert r["sourceId"] is None and r["platformPostId"].startswith("pp_")
            assert r["scoringPool"] == "ugc"
        else:
            assert UUID.match(r["sourceId"]) and r["platformPostId"] is None  # bare (seed 001)
            pool = "generated" if r["sourceType"] == "content_container" else "manual"
            assert r["scoringPool"] == pool
        if r["override"] is None:
            assert r["overrideNote"] is r["overrideSetBy"] is r["overrideSetAt"] is None
        else:
            assert r["overrideSetBy"].endswith(")") and ISO_Z.match(r["overrideSetAt"])
    assert {r["sourceType"] for r in rows} == {"content_container", "manual", "platform_post"}
    scores = [r["organicScore"] for r in rows]
    assert any(s < 4.0 for s in scores) and any(s > 4.0 for s in scores) and 4.0 in scores
    assert {r["override"] for r in rows} == {None, "include", "exclude"}
    assert any(r["activePromotions"] for r in rows)


def test_sources_point_at_real_containers(big, ads):
    _, rows = ads
    for r in rows:
        if r["sourceType"] == "manual":
            assert big.ok("GET", f"/content/{r['sourceId']}")["creativeType"] == "uploaded"
        elif r["sourceType"] == "content_container":
            c = big.ok("GET", f"/content/{r['sourceId']}")
            assert c["creativeType"] == "generated" and c["status"] == "completed"


def test_default_sort_and_limit(big, ads):
    pid, rows = ads
    first = big.ok("GET", f"/projects/{pid}/ads-content")
    assert len(first["items"]) == 50 and first["nextCursor"]
    keys = [(r["organicScore"], r["adsContentId"]) for r in rows]
    assert keys == sorted(keys, reverse=True)  # score_desc, ties adsContentId desc


@pytest.mark.parametrize(
    ("sort", "key", "reverse"),
    [
        ("score_desc", lambda r: (r["organicScore"], r["adsContentId"]), True),
        ("score_asc", lambda r: (r["organicScore"], r["adsContentId"]), False),
        ("scored_at_desc", lambda r: (r["scoredAt"], r["adsContentId"]), True),
    ],
)
@pytest.mark.parametrize("limit", [1, 7, 50, 200])
def test_sorts_and_pagination_walks(big, ads, sort, key, reverse, limit):
    pid, rows = ads
    walked = big.walk(f"/projects/{pid}/ads-content", {"sort": sort, "limit": limit})
    assert [r["adsContentId"] for r in walked] == [
        r["adsContentId"] for r in sorted(rows, key=key, reverse=reverse)
    ]


@pytest.mark.parametrize(
    ("params", "predicate"),
    [
        ({"scoringPool": "ugc"}, lambda r: r["scoringPool"] == "ugc"),
        (
            {"scoringPool": ["generated", "manual"]},
            lambda r: r["scoringPool"] in ("generated", "manual"),
        ),
        ({"minScore": "4"}, lambda r: r["organicScore"] >= 4.0),
        ({"minScore": "6.5"}, lambda r: r["organicScore"] >= 6.5),
        ({"override": "include"}, lambda r: r["override"] == "include"),
        ({"override": "exclude"}, lambda r: r["override"] == "exclude"),
        ({"override": "none"}, lambda r: r["override"] is None),
        ({"eligible": "true"}, lambda r: r["eligibility"]["isEligible"]),
        ({"eligible": "false"}, lambda r: not r["eligibility"]["isEligible"]),
        (
            {"eligible": "true", "scoringPool": "generated", "minScore": "3"},
            lambda r: (
                r["eligibility"]["isEligible"]
                and r["scoringPool"] == "generated"
                and r["organicScore"] >= 3
            ),
        ),
    ],
)
def test_filters(big, ads, params, predicate):
    pid, rows = ads
    got = big.walk(f"/projects/{pid}/ads-content", {**params, "limit": 9})
    expected = [r["adsContentId"] for r in rows if predicate(r)]
    assert expected and [r["adsContentId"] for r in got] == expected


def test_min_score_is_inclusive_at_four(big, ads):
    pid, rows = ads
    got = big.walk(f"/projects/{pid}/ads-content", {"minScore": "4.0"})
    assert any(r["organicScore"] == 4.0 for r in got)


@pytest.mark.parametrize(
    "params",
    [
        {"scoringPool": "paid"},
        {"minScore": "11"},
        {"minScore": "-1"},
        {"minScore": "high"},
        {"override": "maybe"},
        {"eligible": "yes"},
        {"sort": "newest"},
        {"limit": "0"},
        {"limit": "201"},
    ],
)
def test_validation_errors(big, ads, params):
    pid, _ = ads
    assert_error(big.get(f"/projects/{pid}/ads-content", params=params), 422, "VALIDATION")


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage",
        "00000000-0000-4000-8000-000000000000",
        base64.urlsafe_b64encode(b'{"sort":"score_asc","v":5,"id":"x"}').decode(),
        base64.urlsafe_b64encode(b'{"sort":"score_desc","v":"five","id":"x"}').decode(),
    ],
)
def test_forged_cursor_gives_first_page(big, ads, cursor):
    pid, _ = ads
    first = big.ok("GET", f"/projects/{pid}/ads-content", params={"limit": 5})
    forged = big.ok("GET", f"/projects/{pid}/ads-content", params={"limit": 5, "cursor": cursor})
    assert forged == first


def test_cursor_of_another_sort_gives_first_page(big, ads):
    pid, _ = ads
    c = big.ok("GET", f"/projects/{pid}/ads-content?limit=5&sort=score_asc")["nextCursor"]
    first = big.ok("GET", f"/projects/{pid}/ads-content?limit=5")
    assert big.ok("GET", f"/projects/{pid}/ads-content?limit=5&cursor={c}") == first


def test_cursor_survives_override_changes_between_pages(big, ads):
    pid, rows = ads
    page1 = big.ok("GET", f"/projects/{pid}/ads-content?limit=30")
    # overrides do not move rows in the sort, so the walk still sees each row once
    for r in page1["items"][:5] + rows[-5:]:
        big.ok(
            "PATCH",
            f"/projects/{pid}/ads-content/{r['adsContentId']}",
            json={"override": "exclude"},
        )
    rest = big.walk(f"/projects/{pid}/ads-content", {"limit": 30, "cursor": page1["nextCursor"]})
    ids = [r["adsContentId"] for r in page1["items"] + rest]
    assert ids == [r["adsContentId"] for r in rows]


# ----------------------------------------------------------------------------- PATCH
def _pick(rows, predicate):
    return next(r for r in rows if predicate(r))


def test_patch_exclude_seed_example(big, ads):
    pid, rows = ads
    row = _pick(rows, lambda r: r["override"] is None and r["organicScore"] > 4.0)
    me = big.ok("GET", "/whoami")
    url = f"/projects/{pid}/ads-content/{row['adsContentId']}"
    r = big.patch(url, json={"override": "exclude", "note": "Legal flagged the background music"})
    assert r.status_code == 200, r.text
    got = r.json()
    assert set(got) == ROW_FIELDS
    assert got["override"] == "exclude"
    assert got["overrideNote"] == "Legal flagged the background music"
    assert got["eligibility"] == {"isEligible": False, "reason": "excluded by override"}
    assert got["overrideSetBy"] == f"{big.server.keys['main'][:24]} ({me['apiKeyId']})"
    assert got["overrideSetAt"] == "2026-11-01T12:00:00Z"
    assert got["organicScore"] == row["organicScore"]  # override never changes the score
    unchanged = {k for k in ROW_FIELDS if not k.startswith("override") and k != "eligibility"}
    assert {k: got[k] for k in unchanged} == {k: row[k] for k in unchanged}
    listed = big.walk(f"/projects/{pid}/ads-content", {"limit": 200})
    assert next(x for x in listed if x["adsContentId"] == row["adsContentId"]) == got


def test_include_below_threshold_then_clear(big, ads):
    pid, rows = ads
    row = _pick(rows, lambda r: r["override"] is None and r["organicScore"] < 4.0)
    url = f"/projects/{pid}/ads-content/{row['adsContentId']}"
    got = big.ok("PATCH", url, json={"override": "include"})
    assert got["eligibility"] == {"isEligible": True, "reason": "included by override"}
    assert got["overrideNote"] is None
    cleared = big.ok("PATCH", url, json={"override": None})
    assert cleared == row  # as if never touched
    assert cleared["eligibility"]["isEligible"] is False


def test_score_exactly_four_is_eligible(big, ads):
    _, rows = ads
    row = _pick(rows, lambda r: r["organicScore"] == 4.0 and r["override"] is None)
    assert row["eligibility"]["isEligible"] is True


def test_same_override_twice_is_a_noop(big, ads):
    pid, rows = ads
    row = _pick(rows, lambda r: r["override"] is None)
    url = f"/projects/{pid}/ads-content/{row['adsContentId']}"
    first = big.ok("PATCH", url, json={"override": "include", "note": "pin"})
    events = big.ok("GET", "/audit-log", params={"projectId": pid})["items"]
    big.control("POST", "/_sandbox/advance?hours=1")  # the clock moves...
    again = big.ok("PATCH", url, json={"override": "include", "note": "pin"})
    assert again["overrideSetAt"] == first["overrideSetAt"]  # ...but nothing changes
    without_note = big.ok("PATCH", url, json={"override": "include"})
    assert without_note["overrideNote"] == "pin"
    after = big.ok("GET", "/audit-log", params={"projectId": pid})["items"]
    mine = [e for e in after if e["data"]["adsContentId"] == row["adsContentId"]]
    assert len(mine) == 1 and mine[0]["eventId"] == events[0]["eventId"]


def test_changing_the_note_alone_is_recorded(big, ads):
    pid, rows = ads
    row = _pick(rows, lambda r: r["override"] == "exclude")
    url = f"/projects/{pid}/ads-content/{row['adsContentId']}"
    got = big.ok("PATCH", url, json={"override": "exclude", "note": "new reason"})
    assert got["overrideNote"] == "new reason"
    assert got["overrideSetBy"].startswith(big.server.keys["main"][:24])


def test_note_length_limit(big, ads):
    pid, rows = ads
    url = f"/projects/{pid}/ads-content/{rows[0]['adsContentId']}"
    assert big.ok("PATCH", url, json={"override": "include", "note": "n" * 280})["overrideNote"]
    assert_error(big.patch(url, json={"override": "exclude", "note": "n" * 281}), 400, "VALIDATION")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"data": ""},
        {"json": {}},
        {"data": "{not json"},
        {"json": {"override": "maybe"}},
        {"json": {"override": "INCLUDE"}},
        {"json": {"note": "missing override"}},
        {"json": {"override": "include", "organicScore": 9.9}},
        {"json": {"override": "include", "note": 5}},
        {"json": ["include"]},
    ],
)
def test_patch_bad_body_is_400(big, ads, kwargs):
    pid, rows = ads
    url = f"/projects/{pid}/ads-content/{rows[0]['adsContentId']}"
    err = assert_error(big.patch(url, **kwargs), 400, "VALIDATION")
    assert err["message"].startswith("Invalid patch body")
    listed = big.ok("GET", f"/projects/{pid}/ads-content?limit=200")["items"]
    assert next(x for x in listed if x["adsContentId"] == rows[0]["adsContentId"]) == rows[0]


def test_patch_unknown_row_and_project(big, ads):
    pid, _ = ads
    url = f"/projects/{pid}/ads-content/00000000-0000-4000-8000-000000000000"
    assert_error(big.patch(url, json={"override": "include"}), 404, "NOT_FOUND")
    assert_error(
        big.patch(url.replace(pid, "prj_nope"), json={"override": "include"}), 404, "NOT_FOUND"
    )


# ----------------------------------------------------------------------------- audit log
def test_override_is_audited(big, ads):
    pid, rows = ads
    row = _pick(rows, lambda r: r["override"] is None)
    r = big.patch(
        f"/projects/{pid}/ads-content/{row['adsContentId']}",
        json={"override": "exclude", "note": "audit me"},
    )
    me = big.ok("GET", "/whoami")
    event = big.ok("GET", "/audit-log")["items"][0]
    assert set(event) == {
        "eventId",
        "eventType",
        "occurredAt",
        "requestId",
        "organizationId",
        "projectId",
        "apiKeyId",
        "actor",
        "data",
    }
    assert event["eventType"] == "creative_override"
    assert event["requestId"] == r.headers["X-Request-Id"]
    assert event["apiKeyId"] == me["apiKeyId"] and event["organizationId"] == me["organizationId"]
    assert event["projectId"] == pid and event["occurredAt"] == "2026-11-01T12:00:00Z"
    assert event["data"] == {
        "adsContentId": row["adsContentId"],
        "before": None,
        "after": "exclude",
        "note": "audit me",
    }


def test_audit_log_newest_first_filters_and_walk(big, ads):
    pid, rows = ads
    targets = [r for r in rows if r["override"] is None][:3]
    for r in targets:
        big.ok(
            "PATCH",
            f"/projects/{pid}/ads-content/{r['adsContentId']}",
            json={"override": "include"},
        )
    events = big.walk("/audit-log", {"limit": 200})
    assert len(events) >= 3 + sum(1 for r in rows if r["override"])
    # the newest are the three PATCHes, latest first (equal occurredAt: eventId ascending)
    assert [e["data"]["adsContentId"] for e in events[:3]] == [
        r["adsContentId"] for r in reversed(targets)
    ]
    keys = [e["occurredAt"] for e in events]
    assert keys == sorted(keys, reverse=True)
    walked = big.walk("/audit-log", {"limit": 2})
    assert [e["eventId"] for e in walked] == [e["eventId"] for e in events]
    assert big.walk("/audit-log", {"projectId": "prj_nope"}) == []
    assert {e["projectId"] for e in big.walk("/audit-log", {"projectId": pid})} == {pid}
    since, until = events[-3]["occurredAt"], events[4]["occurredAt"]
    window = big.walk("/audit-log", {"since": since, "until": until})
    assert [e["eventId"] for e in window] == [
        e["eventId"] for e in events if since <= e["occurredAt"] <= until
    ]
    assert big.walk("/audit-log", {"eventType": "creative_override"}) == events
    assert big.walk("/audit-log", {"eventType": "api.request"}) == []


@pytest.mark.parametrize("params", [{"cursor": "nope"}, {"limit": "201"}, {"since": "bad"}])
def test_audit_log_validation(big, params):
    assert_error(big.get("/audit-log", params=params), 422, "VALIDATION")


def test_audit_cursor_is_keyset(big, ads):
    c = big.ok("GET", "/audit-log?limit=1")["nextCursor"]
    decoded = json.loads(base64.urlsafe_b64decode(c + "=" * (-len(c) % 4)))
    assert set(decoded) == {"occurredAt", "eventId"}
