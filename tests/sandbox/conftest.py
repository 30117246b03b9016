"""Helpers for the sandbox contract suite (real HTTP on loopback).

The ``sandbox_server`` / ``sandbox_factory`` fixtures come from ``sandbox.pytest_plugin``
(loaded by tests/conftest.py); nothing here redefines them.
"""

from __future__ import annotations

import re

import pytest
import requests

# An ads-content row as seed 001 shows it: exactly these fields (no title, no thumbnailUrl).
SEED_001_FIELDS = frozenset(
    {
        "adsContentId",
        "sourceType",
        "sourceId",
        "platformPostId",
        "scoringPool",
        "organicScore",
        "organicPerformance",
        "adPerformance",
        "scoredAt",
        "scoringVersion",
        "eligibility",
        "override",
        "overrideNote",
        "overrideSetBy",
        "overrideSetAt",
        "activePromotions",
    }
)
REQUEST_ID = re.compile(r"^req_[0-9A-HJKMNP-TV-Z]{26}$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
ISO_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
ISO_OFFSET = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3,6}\+00:00$")


def norm(ident: str | None, prefix: str = "adc_") -> str | None:
    """The layersadmin rule: a known prefix stripped, case folded (None stays None)."""
    if ident is None:
        return None
    if ident[:4].lower() == prefix:
        ident = ident[4:]
    return ident.lower()


class Api:
    """A tiny requests wrapper bound to one sandbox and one key label."""

    def __init__(self, server, key: str | None = "main") -> None:
        self.server = server
        self.session = requests.Session()
        self.key = key

    def request(self, method: str, path: str, *, key="default", headers=None, **kw):
        headers = dict(headers or {})
        label = self.key if key == "default" else key
        if label is not None:
            headers.setdefault("Authorization", f"Bearer {self.server.keys[label]}")
        url = path if path.startswith("http") else self.server.base_url + path
        return self.session.request(method, url, headers=headers, timeout=15, **kw)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def patch(self, path, **kw):
        return self.request("PATCH", path, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def control(self, method: str, path: str, **kw):
        return self.session.request(method, self.server.root_url + path, timeout=15, **kw)

    def ok(self, method: str, path: str, **kw) -> dict:
        r = self.request(method, path, **kw)
        assert r.status_code < 300, r.text
        return r.json()

    def walk(self, path: str, params: dict | None = None, *, max_pages: int = 500) -> list[dict]:
        """Follow nextCursor until null (``seed``) or absent (``variant``); every item in order."""
        params = dict(params or {})
        items: list[dict] = []
        for _ in range(max_pages):
            body = self.ok("GET", path, params=params)
            if self.server.dialect.end_cursor_absent:
                assert set(body) in ({"items", "nextCursor"}, {"items"})
                assert body.get("nextCursor", "absent") is not None  # never null
            else:
                assert set(body) == {"items", "nextCursor"}
            items.extend(body["items"])
            if body.get("nextCursor") is None:
                return items
            assert body["items"], "a non-final page must not be empty"
            params["cursor"] = body["nextCursor"]
        raise AssertionError("pagination did not terminate")

    def projects(self, **params) -> list[dict]:
        return self.walk("/projects", {"limit": 200, **params})


def assert_error(resp, status: int, code: str) -> dict:
    """The documented envelope: {"error": {"code", "message", "requestId"[, "details"]}}."""
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"error"}, body
    err = body["error"]
    assert (
        {"code", "message", "requestId"} <= set(err) <= {"code", "message", "requestId", "details"}
    )
    assert err["code"] == code, err
    assert isinstance(err["message"], str) and err["message"]
    assert REQUEST_ID.match(err["requestId"]), err["requestId"]
    assert resp.headers["X-Request-Id"] == err["requestId"]
    return err


@pytest.fixture
def api(sandbox_server) -> Api:
    return Api(sandbox_server)


@pytest.fixture
def project_id(api) -> str:
    """The newest active project of the main organization."""
    return api.ok("GET", "/projects")["items"][0]["id"]
