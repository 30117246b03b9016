"""Content review (REFERENCE 8.5): POST /v1/content/{id}/approve and /reject, in both dialects.

Documented: 200 answers, 409 CONFLICT with ``details.approvalStatus`` when the container is not
pending, 422 VALIDATION for a bad reason/note, 403 FORBIDDEN_SCOPE without ``content:approve``.
Where the docs are silent the dialects differ (sandbox/README.md, "Where the docs are silent
or disagree": validation status, length unit, answer id form, approvedBy form, promotion field).
"""

from __future__ import annotations

import uuid

import pytest

from sandbox.dialects import DIALECTS

from .conftest import ISO_OFFSET, ISO_Z, UUID, Api, assert_error, norm


@pytest.fixture(params=DIALECTS)
def api(request, sandbox_factory) -> Api:
    return Api(sandbox_factory(dialect=request.param, projects=2, creatives_per_project=60))


def containers(api: Api, approval: str) -> list[dict]:
    """Every container of the first project whose approvalStatus is ``approval``."""
    pid = api.ok("GET", "/projects")["items"][0]["id"]
    rows = api.walk(f"/projects/{pid}/content", {"limit": 200})
    return [row for row in rows if row["approvalStatus"] == approval]


def with_promotion(api: Api, rows: list[dict], wanted: bool) -> dict:
    """A container with (or without) scheduled posts waiting for its approval."""
    store = api.server.store
    for row in rows:
        c = store.get_container(store.org1.id, row["id"])
        if bool(c.blocked_posts()[0]) == wanted:
            return row
    raise AssertionError("no such container in the data")


def approve(api: Api, cid: str, body: dict | None = None, **kw):
    if body is None:
        return api.post(f"/content/{cid}/approve", **kw)
    return api.post(f"/content/{cid}/approve", json=body, **kw)


def reject(api: Api, cid: str, body: dict, **kw):
    return api.post(f"/content/{cid}/reject", json=body, **kw)


def stamp(api: Api):
    return ISO_OFFSET if api.server.dialect.offset_timestamps else ISO_Z


def test_approve_answers_as_documented_and_sticks(api):
    row = with_promotion(api, containers(api, "pending"), wanted=False)
    r = approve(api, row["id"], {"note": "Looks on brand."})
    assert r.status_code == 200, r.text
    body = r.json()
    d = api.server.dialect
    documented = {"id", "approvalStatus", "approvedAt", "approvedBy", "pendingSchedulePromotion"}
    assert set(body) - {"region", "_links"} <= documented
    assert norm(body["id"], "cnt_") == norm(row["id"], "cnt_")
    assert body["id"] == (row["id"][4:] if d.review_answer_bare_id else row["id"])
    assert body["approvalStatus"] == "approved"
    assert stamp(api).match(body["approvedAt"])
    key_id = api.ok("GET", "/whoami")["apiKeyId"]
    assert body["approvedBy"] == (key_id if d.reviewer_is_key_id else "api_key_" + key_id[4:])
    if d.promotion_always:
        assert body["pendingSchedulePromotion"] == {"status": "ok", "scheduledPostIds": []}
    else:
        assert "pendingSchedulePromotion" not in body
    # The list and GET now say approved.
    assert api.ok("GET", f"/content/{row['id']}")["approvalStatus"] == "approved"
    # Approving again, or rejecting, is 409 CONFLICT naming the state.
    err = assert_error(approve(api, row["id"]), 409, "CONFLICT")
    assert err["details"]["approvalStatus"] == "approved"
    err = assert_error(reject(api, row["id"], {"reason": "changed my mind"}), 409, "CONFLICT")
    assert err["details"]["approvalStatus"] == "approved"


def test_approve_promotes_scheduled_posts(api):
    row = with_promotion(api, containers(api, "pending"), wanted=True)
    body = approve(api, row["id"]).json()  # no body at all: the note is optional
    promotion = body["pendingSchedulePromotion"]
    assert promotion["status"] in ("ok", "failed")
    assert promotion["scheduledPostIds"] and all(
        p.startswith("sp_") for p in promotion["scheduledPostIds"]
    )
    assert body["approvalStatus"] == "approved"  # a failed promotion still approves


def test_reject_answers_as_documented(api):
    row = containers(api, "pending")[0]
    r = reject(api, row["id"], {"reason": "Wrong logo <b>colour</b>"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) - {"region", "_links"} == {
        "id",
        "approvalStatus",
        "rejectedAt",
        "rejectedBy",
        "reason",
    }
    assert body["approvalStatus"] == "rejected"
    assert body["reason"] == "Wrong logo <b>colour</b>"
    assert stamp(api).match(body["rejectedAt"])
    err = assert_error(reject(api, row["id"], {"reason": "again"}), 409, "CONFLICT")
    assert err["details"]["approvalStatus"] == "rejected"
    err = assert_error(approve(api, row["id"]), 409, "CONFLICT")
    assert err["details"]["approvalStatus"] == "rejected"


def test_not_required_is_409(api):
    row = containers(api, "not_required")[0]
    err = assert_error(approve(api, row["id"]), 409, "CONFLICT")
    assert err["details"]["approvalStatus"] == "not_required"
    err = assert_error(reject(api, row["id"], {"reason": "no"}), 409, "CONFLICT")
    assert err["details"]["approvalStatus"] == "not_required"


def test_validation_of_note_and_reason(api):
    d = api.server.dialect
    status = d.review_body_status
    row = containers(api, "pending")[0]
    cid = row["id"]
    for body in ({}, {"reason": ""}, {"reason": "   "}, {"reason": 5}, {"reason": "x" * 1025}):
        err = assert_error(reject(api, cid, body), status, "VALIDATION")
        assert err["details"]["issues"][0]["path"] == ["reason"], body
    err = assert_error(reject(api, cid, {"reason": "ok", "why": "x"}), status, "VALIDATION")
    assert err["details"]["issues"][0]["path"] == ["why"]
    err = assert_error(approve(api, cid, {"note": "x" * 1025}), status, "VALIDATION")
    assert err["details"]["issues"][0]["path"] == ["note"]
    # 1024 emoji: 1024 code points (seed takes it), 2048 UTF-16 units (variant refuses it).
    r = approve(api, cid, {"note": "\U0001f642" * 1024})
    if d.review_length_utf16:
        assert_error(r, status, "VALIDATION")
        r = approve(api, cid, {"note": "\U0001f642" * 512})
    assert r.status_code == 200, r.text
    # Validation comes before the state: a bad reason on an approved container is still 4xx.
    assert_error(reject(api, cid, {"reason": ""}), status, "VALIDATION")
    # Exactly 1024 is fine.
    other = containers(api, "pending")[0]["id"]
    assert reject(api, other, {"reason": "y" * 1024}).status_code == 200


def test_scope_unknown_and_other_org(api):
    row = containers(api, "pending")[0]
    for label in ("readonly", "noscope"):
        err = assert_error(approve(api, row["id"], key=label), 403, "FORBIDDEN_SCOPE")
        assert err["details"]["scope"] == "content:approve"
        assert_error(reject(api, row["id"], {"reason": "x"}, key=label), 403, "FORBIDDEN_SCOPE")
    # The refused attempts changed nothing.
    assert api.ok("GET", f"/content/{row['id']}")["approvalStatus"] == "pending"
    assert "content:approve" in api.ok("GET", "/whoami")["scopes"]
    missing = f"cnt_{uuid.uuid4()}"
    assert_error(approve(api, missing), 404, "NOT_FOUND")
    assert_error(approve(api, row["id"], key="other_org"), 404, "NOT_FOUND")
    assert UUID.match(row["id"][4:])
    # Any id form of the container works in the path.
    assert approve(api, row["id"][4:].upper()).status_code == 200


def test_idempotent_replay_is_the_first_answer(api):
    row = containers(api, "pending")[0]
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    first = approve(api, row["id"], {"note": "once"}, headers=headers)
    again = approve(api, row["id"], {"note": "once"}, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    # Without the key, the second approve is a 409.
    assert_error(approve(api, row["id"], {"note": "once"}), 409, "CONFLICT")
