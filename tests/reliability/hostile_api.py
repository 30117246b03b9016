"""A hostile stand-in for the Layers API on loopback: HTML and script in every text field,
nulls where values are expected, unknown enum values, wrong types, missing optional objects,
NUL bytes, one huge page, a cursor that repeats itself, and junk items among good ones.

Projects:
* ``prj_hostile`` - every field hostile (captions, titles, notes, URLs, enums, types).
* ``prj_loop``    - its ads-content list answers the same cursor forever.
* ``prj_huge``    - one page of ``HUGE`` containers and as many creatives, whatever the limit.
* ``prj_fine``    - an ordinary project: it must sync whatever happens to the others.
"""

from __future__ import annotations

import json
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

HUGE = 3000
XSS = [
    "<script>alert('xss-1')</script>",
    "<img src=x onerror=alert('xss-2')>",
    "\"><svg onload=alert('xss-3')>",
    "javascript:alert('xss-4')",
    "</textarea></title><script>alert('xss-5')</script>",
    "{{ request }}{% debug %}",
    '=HYPERLINK("http://evil.example","click")',
    "'; DROP TABLE projects_project; --",
    "\u202eevil\u202c \ufeff zero\u200bwidth",
    "nul\x00byte",
]
# Raw (unescaped) forms of the payloads: any of these in a page would be markup, not text.
EXECUTABLE = ["<script>alert(", "<img src=x onerror", "<svg onload", "</textarea></title><script>"]
BAD_URLS = [
    "javascript:alert('xss-6')",
    "data:text/html,<script>alert('xss-7')</script>",
    "http://127.0.0.1/x.svg\" onerror=\"alert('xss-8')",
    "vbscript:msgbox(1)",
    "//evil.example/x.svg",
]
REQUEST_ID = "req_<script>alert('rid')</script>" + "R" * 200


def _project(pid: str, name: str, **extra) -> dict:
    row = {
        "id": pid,
        "name": name,
        "status": "active",
        "customerExternalId": f"cust-{pid}",
        "timezone": "UTC",
        "primaryLanguage": "en",
        "ownerEmail": "owner@example.com",
        "createdAt": "2026-01-01T00:00:00Z",
        "updatedAt": "2026-01-02T00:00:00Z",
    }
    row.update(extra)
    return row


def _container(pid: str, n: int, **extra) -> dict:
    row = {
        "id": f"cnt_{pid}_{n:05d}",
        "projectId": pid,
        "status": "completed",
        "format": "slideshow-builder",
        "caption": f"Caption {n}",
        "creativeType": "generated",
        "adsEnrollment": "auto",
        "approvalStatus": "approved",
        "createdAt": f"2026-10-{1 + n % 28:02d}T{n % 24:02d}:{n % 60:02d}:00Z",
        "completedAt": "2026-10-30T00:00:00Z",
        "preview": {
            "kind": "image",
            "primaryUrl": "https://img.example/p.svg",
            "thumbnailUrl": "https://img.example/t.svg",
            "imageUrls": ["https://img.example/1.svg"],
            "aspectRatio": "9:16",
        },
        "primaryAsset": None,
    }
    row.update(extra)
    return row


def _ads(pid: str, n: int, **extra) -> dict:
    row = {
        "adsContentId": f"{n:08d}-0000-4000-8000-{zlib.crc32(pid.encode()):012d}",
        "sourceType": "content_container",
        "sourceId": f"cnt_{pid}_{n:05d}",
        "platformPostId": None,
        "scoringPool": "generated",
        "organicScore": 5.0 + (n % 40) / 10,
        "organicPerformance": {"views": 100 + n, "engagementRate": 0.05, "platforms": ["tiktok"]},
        "adPerformance": None,
        "scoredAt": "2026-10-30T00:00:00Z",
        "scoringVersion": 3,
        "eligibility": {"isEligible": True, "reason": "organic score at or above 4.0"},
        "override": None,
        "overrideNote": None,
        "overrideSetBy": None,
        "overrideSetAt": None,
        "activePromotions": [],
        "title": f"Creative {n}",
        "thumbnailUrl": "https://img.example/t.svg",
    }
    row.update(extra)
    return row


def hostile_containers(pid: str) -> list:
    items: list = []
    previews = [
        {
            "kind": "image",
            "primaryUrl": BAD_URLS[0],
            "thumbnailUrl": BAD_URLS[1],
            "imageUrls": [BAD_URLS[0], 42, None, {"u": 1}, "https://img.example/ok.svg"],
            "durationMs": "long",
            "aspectRatio": 16.9,
        },
        {"kind": XSS[1], "primaryUrl": BAD_URLS[2], "thumbnailUrl": BAD_URLS[2]},
        {"kind": "video", "videoUrl": BAD_URLS[3], "durationMs": 10**30, "imageUrls": "nope"},
        None,
        "a string",
        [],
    ]
    for n, caption in enumerate(XSS):
        extra = {
            "caption": caption,
            "status": ["exploded", "completed", None, 42][n % 4],
            "format": ["hologram", XSS[0], None][n % 3],
            "creativeType": ["alien", None][n % 2],
            "approvalStatus": [None, {"nested": True}][n % 2],
            "adsEnrollment": XSS[2],
            "completedAt": ["soon", None, 17][n % 3],
        }
        preview = previews[n % len(previews)]
        if n % 7 == 6:
            items.append({k: v for k, v in _container(pid, n, **extra).items() if k != "preview"})
        else:
            items.append(_container(pid, n, preview=preview, **extra))
    n = len(XSS)
    items += [
        _container(pid, n + 1, caption="<b>" * 60_000),  # huge
        _container(pid, n + 2, primaryAsset={"thumbnailUrl": BAD_URLS[1]}, preview=None),
        _container(pid, n + 3, createdAt=None),  # invalid: no createdAt
        _container(pid, n + 4, createdAt="not a date"),  # invalid
        _container(pid, n + 5, id=None),  # invalid: no id
        _container(pid, n + 6, id=["list"]),  # invalid
        "not an object",
        17,
        None,
    ]
    return items


def hostile_ads(pid: str) -> list:
    items: list = []
    scores = [None, "NaN", "9e999", "7.5", True, {"x": 1}, -1e308, 4.0, "", []]
    for n, title in enumerate(XSS):
        items.append(
            _ads(
                pid,
                n,
                title=title,
                organicScore=scores[n % len(scores)],
                eligibility=[None, "yes", {"isEligible": "true", "reason": XSS[0]}, {}][n % 4],
                override=["maybe", 42, None, "include", "exclude"][n % 5],
                overrideNote=XSS[(n + 1) % len(XSS)],
                overrideSetBy=XSS[(n + 2) % len(XSS)],
                overrideSetAt=["soon", None][n % 2],
                activePromotions=[
                    "yes",
                    [{"platform": XSS[0], "campaignId": None, "startedAt": "x"}],
                    [42],
                    None,
                ][n % 4],
                organicPerformance=[
                    [1, 2],
                    {"views": "many", "engagementRate": XSS[1], "platforms": "tiktok"},
                    None,
                ][n % 3],
                adPerformance=[{"spend": "$$$", "roas": None, "conversions": XSS[2]}, None][n % 2],
                sourceType=["alien", "platform_post", None, "manual"][n % 4],
                scoringPool=XSS[0],
                scoringVersion="v3",
                scoredAt=["2026-13-45T99:99:99Z", None][n % 2],
                thumbnailUrl=BAD_URLS[n % len(BAD_URLS)],
            )
        )
    n = len(XSS)
    items += [
        _ads(pid, n + 1, adsContentId=None),  # invalid
        _ads(pid, n + 2, title="duplicate, first"),
        _ads(pid, n + 2, title="duplicate, last wins"),
        _ads(pid, n + 3, overrideNote="<i>" * 50_000, title="x" * 100_000),  # huge
        "junk",
        None,
    ]
    return items


def hostile_leaderboard(metric: str, window: str, pid: str) -> dict:
    first = _ads(pid, 0)["adsContentId"]
    return {
        "metric": metric,
        "window": window,
        "items": [
            {
                "rank": None,
                "title": XSS[0],
                "adsContentId": first,
                "metricValue": "lots",
                "thumbnailUrl": BAD_URLS[0],
                "organic": {"views": None, "platforms": [XSS[1], None], "engagementRate": XSS[2]},
                "paid": {"spend": XSS[1], "cpa": "∞", "roas": {"x": 1}},
                "sourceType": XSS[3],
                "unknownField": {"deep": [XSS[4]]},
            },
            {"rank": "2", "title": None, "metricValue": 1e308, "organic": "none", "paid": []},
            {"rank": 3, "title": XSS[6], "metricValue": -5, "adsContentId": XSS[2]},
            "not an object",
            None,
        ],
        "generatedAt": XSS[0],
    }


class HostileServer:
    keys = {"main": "lp_test_HOSTILEHOSTILEHOS_key"}

    def __init__(self) -> None:
        self.projects = {
            "prj_hostile": _project(
                "prj_hostile",
                XSS[0],
                status="frozen",
                timezone="Mars/Olympus_Mons",
                customerExternalId=XSS[1],
                primaryLanguage=None,
                ownerEmail=XSS[2],
                createdAt="yesterday",
                updatedAt=12345,
            ),
            "prj_loop": _project("prj_loop", "Loop project"),
            "prj_huge": _project("prj_huge", "Huge project"),
            "prj_fine": _project("prj_fine", "Fine project", timezone="Europe/Berlin"),
        }
        self.content = {
            "prj_hostile": hostile_containers("prj_hostile"),
            "prj_loop": [_container("prj_loop", n) for n in range(3)],
            "prj_huge": [_container("prj_huge", n) for n in range(HUGE)],
            "prj_fine": [_container("prj_fine", n) for n in range(5)],
        }
        self.ads = {
            "prj_hostile": hostile_ads("prj_hostile"),
            "prj_loop": [_ads("prj_loop", n) for n in range(3)],
            "prj_huge": [_ads("prj_huge", n) for n in range(HUGE)],
            "prj_fine": [_ads("prj_fine", n) for n in range(5)],
        }
        self.requests = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):  # noqa: N802
                outer.requests += 1
                parts = urlsplit(self.path)
                status, body = outer.answer(parts.path, parse_qs(parts.query))
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("X-Request-Id", REQUEST_ID)
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.root_url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.base_url = f"{self.root_url}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def answer(self, path: str, query: dict) -> tuple[int, object]:
        parts = path.strip("/").split("/")[1:]  # drop "v1"
        cursor = (query.get("cursor") or [None])[0]
        if parts == ["whoami"]:
            return 200, {"rateLimitTier": "ludicrous", "apiKeyId": None, "scopes": XSS[0]}
        if parts == ["projects"]:
            if (query.get("status") or [None])[0] == "archived":
                return 200, {"items": [], "nextCursor": None}
            junk = [{"id": None, "name": "no id"}, "a string", 42, {"name": "id missing"}]
            return 200, {"items": [*self.projects.values(), *junk], "nextCursor": None}
        if len(parts) >= 2 and parts[0] == "projects" and parts[1] in self.projects:
            pid = parts[1]
            if len(parts) == 2:
                return 200, self.projects[pid]
            if parts[2] == "content":
                return 200, {"items": self.content[pid], "nextCursor": None}
            if parts[2] == "ads-content":
                if pid == "prj_loop":  # the same cursor, forever
                    return 200, {"items": self.ads[pid], "nextCursor": "again"}
                return 200, {"items": self.ads[pid], "nextCursor": None}
            if parts[2] == "top-performers":
                metric = (query.get("metric") or ["views"])[0]
                window = (query.get("window") or ["30d"])[0]
                if pid == "prj_loop":
                    return 200, {"metric": metric, "window": window, "items": "not a list"}
                return 200, hostile_leaderboard(metric, window, pid)
        del cursor
        return 404, {"error": {"code": "NOT_FOUND", "message": XSS[0], "requestId": REQUEST_ID}}

    def __enter__(self) -> HostileServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
