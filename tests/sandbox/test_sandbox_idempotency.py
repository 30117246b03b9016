"""Idempotency-Key on POST and PATCH: replay, conflict, scope of a key, 24 h window."""

from __future__ import annotations

import json

from .conftest import assert_error

BODY = {"name": "Idem Co", "timezone": "Europe/Paris", "customerExternalId": "idem-1"}


def test_post_replay_returns_the_original_response(api):
    h = {"Idempotency-Key": "k-post-1"}
    first = api.post("/projects", json=BODY, headers=h)
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    again = api.post("/projects", json=BODY, headers=h)
    assert again.status_code == 201
    assert again.content == first.content  # same body, byte for byte (same id)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["X-Request-Id"] != first.headers["X-Request-Id"]
    assert len(api.projects(customerExternalId="idem-1")) == 1


def test_body_is_compared_canonically(api):
    h = {"Idempotency-Key": "k-canon", "Content-Type": "application/json"}
    first = api.post("/projects", data=json.dumps(BODY), headers=h)
    reordered = json.dumps(dict(reversed(list(BODY.items()))), indent=2)
    again = api.post("/projects", data=reordered, headers=h)
    assert again.status_code == 201 and again.json()["id"] == first.json()["id"]


def test_same_key_different_body_is_409(api):
    h = {"Idempotency-Key": "k-conflict"}
    assert api.post("/projects", json=BODY, headers=h).status_code == 201
    r = api.post("/projects", json={**BODY, "name": "Other Co"}, headers=h)
    assert_error(r, 409, "IDEMPOTENCY_CONFLICT")
    assert len(api.projects(customerExternalId="idem-1")) == 1


def test_no_key_executes_every_time(api):
    api.post("/projects", json=BODY)
    api.post("/projects", json=BODY)
    assert len(api.projects(customerExternalId="idem-1")) == 2


def test_keys_are_partitioned_by_api_key_and_path(api, project_id):
    h = {"Idempotency-Key": "shared"}
    a = api.post("/projects", json=BODY, headers=h).json()
    b = api.post("/projects", json=BODY, headers=h, key="teammate").json()
    assert a["id"] != b["id"]
    # same key on another endpoint is a different record
    row = api.ok("GET", f"/projects/{project_id}/ads-content")["items"][0]
    url = f"/projects/{project_id}/ads-content/{row['adsContentId']}"
    assert api.patch(url, json={"override": "include"}, headers=h).status_code == 200


def test_patch_replay_and_conflict(api, project_id):
    row = next(r for r in api.walk(f"/projects/{project_id}/ads-content") if r["override"] is None)
    url = f"/projects/{project_id}/ads-content/{row['adsContentId']}"
    h = {"Idempotency-Key": "k-patch"}
    first = api.patch(url, json={"override": "exclude", "note": "a"}, headers=h)
    # someone else changes the row in between: the replay still returns the original
    api.ok("PATCH", url, json={"override": None}, key="teammate")
    again = api.patch(url, json={"override": "exclude", "note": "a"}, headers=h)
    assert again.status_code == 200 and again.content == first.content
    assert again.headers["Idempotent-Replayed"] == "true"
    current = api.walk(f"/projects/{project_id}/ads-content")
    assert next(r for r in current if r["adsContentId"] == row["adsContentId"])["override"] is None
    assert_error(
        api.patch(url, json={"override": "include"}, headers=h), 409, "IDEMPOTENCY_CONFLICT"
    )


def test_project_patch_replay(api, project_id):
    h = {"Idempotency-Key": "k-proj-patch"}
    first = api.patch(f"/projects/{project_id}", json={"name": "First Name"}, headers=h)
    api.ok("PATCH", f"/projects/{project_id}", json={"name": "Second Name"})
    again = api.patch(f"/projects/{project_id}", json={"name": "First Name"}, headers=h)
    assert again.content == first.content
    assert api.ok("GET", f"/projects/{project_id}")["name"] == "Second Name"


def test_errors_are_not_recorded(api):
    h = {"Idempotency-Key": "k-after-error"}
    assert_error(api.post("/projects", json={"name": "x"}, headers=h), 422, "VALIDATION")
    assert api.post("/projects", json=BODY, headers=h).status_code == 201


def test_replay_window_is_24h_of_virtual_clock(api):
    h = {"Idempotency-Key": "k-window"}
    first = api.post("/projects", json=BODY, headers=h).json()
    api.control("POST", "/_sandbox/advance?hours=23")
    assert api.post("/projects", json=BODY, headers=h).json()["id"] == first["id"]
    assert_error(
        api.post("/projects", json={**BODY, "name": "Later Co"}, headers=h),
        409,
        "IDEMPOTENCY_CONFLICT",
    )
    api.control("POST", "/_sandbox/advance?hours=1.5")
    later = api.post("/projects", json={**BODY, "name": "Later Co"}, headers=h)
    assert later.status_code == 201 and later.json()["id"] != first["id"]
