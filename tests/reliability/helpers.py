"""Shared helpers for the reliability suite: fast clients, the sandbox's control surface, a
mirror check that counts lost / duplicated / stale rows, and subprocess plumbing (a sandbox on
its own port, ``manage.py`` commands sharing the test database)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from django.conf import settings
from django.db import connection

from creatives.models import AdsContent, ContentContainer, LeaderboardSnapshot, ScoreSample
from creatives.services import leaderboard_configured
from layersadmin.layers import LayersClient
from projects.models import Project
from sandbox.server import PINNED_NOW

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
FIGURES_ENV = "RELIABILITY_FIGURES"


class SmallPageClient(LayersClient):
    """The real client, asking for small pages so tiny data sets still walk several pages
    (page boundaries are where an interrupted walk can lose rows)."""

    page_size = 5

    def iter_pages(self, path, params=None, *, max_pages=100_000):
        query = dict(params or {})
        if "limit" in query:
            query["limit"] = min(int(query["limit"]), self.page_size)
        return super().iter_pages(path, query, max_pages=max_pages)


def fast_client(server, key: str = "main", *, small_pages: bool = False, **overrides):
    """A client whose backoffs are milliseconds: faults cost retries, not wall time."""
    options: dict[str, Any] = {
        "connect_timeout": 2.0,
        "read_timeout": 5.0,
        "max_attempts": 6,
        "backoff_base": 0.005,
        "backoff_cap": 0.02,
        "retry_after_cap": 0.02,
        "tier": "unlimited",
    }
    api_key = overrides.pop("api_key", None) or server.keys[key]
    options.update(overrides)
    cls = SmallPageClient if small_pages else LayersClient
    return cls(base_url=server.base_url, api_key=api_key, **options)


def root_of(server) -> str:
    return server if isinstance(server, str) else server.root_url


def control(server, path: str, **kwargs) -> dict:
    response = requests.post(f"{root_of(server)}/_sandbox/{path}", timeout=30, **kwargs)
    response.raise_for_status()
    return response.json()


def faults_on(server, *, rate: float, kinds=None, seed: int = 7, slow_ms: int = 1500, nxt=None):
    body: dict[str, Any] = {"rate": rate, "seed": seed, "slowMs": slow_ms}
    if kinds:
        body["kinds"] = list(kinds)
    if nxt:
        body["next"] = list(nxt)
    return control(server, "faults", json=body)


def faults_off(server) -> dict:
    """Turn faults off; returns the counts of what was injected until now."""
    state = requests.get(f"{root_of(server)}/_sandbox/faults", timeout=30).json()
    control(server, "faults", json={"rate": 0})
    return state.get("injected", {})


def audit_events(server, project_id: str | None = None, key: str = "main") -> list[dict]:
    """Every creative_override event the API recorded (all pages)."""
    client = fast_client(server, key)
    try:
        params = {"limit": 200, **({"projectId": project_id} if project_id else {})}
        return list(client.iter_items("/audit-log", params))
    finally:
        client.close()


# --- what the sandbox holds, and how the database differs from it ----------------------------


def upstream_state(server, key: str = "main") -> dict:
    """Everything the API holds for the key's organization, read with faults off."""
    client = fast_client(server, key)
    state: dict[str, dict] = {"projects": {}, "containers": {}, "ads": {}, "leaderboards": {}}
    try:
        for status in (None, "archived"):
            params = {"limit": 200, **({"status": status} if status else {})}
            for item in client.iter_items("/projects", params):
                state["projects"][item["id"]] = item
        for project_id in state["projects"]:
            for item in client.iter_items(f"/projects/{project_id}/content", {"limit": 200}):
                state["containers"][item["id"]] = (project_id, item)
            for item in client.iter_items(f"/projects/{project_id}/ads-content", {"limit": 200}):
                state["ads"][(project_id, item["adsContentId"])] = item
            for pair in settings.LAYERS_LEADERBOARDS:
                metric, _, window = pair.partition(":")
                data = client.top_performers(project_id, metric=metric, window=window or "30d")
                state["leaderboards"][(project_id, metric, window or "30d")] = data.get("items")
    finally:
        client.close()
    return state


@dataclass
class MirrorDiff:
    """How the database differs from the API. A converged mirror has every count at 0."""

    upstream: dict[str, int] = field(default_factory=dict)
    lost: dict[str, list] = field(default_factory=dict)
    duplicated: dict[str, list] = field(default_factory=dict)
    stale: dict[str, list] = field(default_factory=dict)
    extra: dict[str, list] = field(default_factory=dict)
    stale_fields: dict[str, dict] = field(default_factory=dict)  # key -> {field: (db, api)}

    def totals(self) -> dict[str, int]:
        return {
            name: sum(len(v) for v in getattr(self, name).values())
            for name in ("lost", "duplicated", "stale", "extra")
        }

    @property
    def clean(self) -> bool:
        return not any(self.totals().values())

    def __str__(self) -> str:
        detail = {
            name: {k: v[:5] for k, v in getattr(self, name).items() if v}
            for name in ("lost", "duplicated", "stale", "extra")
        }
        fields = dict(list(self.stale_fields.items())[:5])
        return (
            f"upstream {self.upstream}, totals {self.totals()}, first ones {detail}, "
            f"stale fields {fields}"
        )


def _compare(diff: MirrorDiff, kind: str, upstream: Mapping, rows: list[tuple[Any, dict]]):
    counts = Counter(key for key, _raw in rows)
    stored = {key: raw for key, raw in rows}
    diff.upstream[kind] = len(upstream)
    diff.lost[kind] = sorted(str(k) for k in upstream if k not in stored)
    diff.duplicated[kind] = sorted(str(k) for k, n in counts.items() if n > 1)
    diff.stale[kind] = sorted(
        str(k) for k, item in upstream.items() if k in stored and stored[k] != item
    )
    for k, item in upstream.items():
        if k in stored and stored[k] != item and isinstance(item, dict):
            mine = stored[k] if isinstance(stored[k], dict) else {}
            diff.stale_fields[str(k)] = {
                name: (mine.get(name), item.get(name))
                for name in set(mine) | set(item)
                if mine.get(name) != item.get(name)
            }
    diff.extra[kind] = sorted(str(k) for k in stored if k not in upstream)


def mirror_diff(server, key: str = "main", *, state: dict | None = None) -> MirrorDiff:
    """Compare every live row (and its raw payload) with the API; count what differs."""
    from layersadmin.layers import payload as p

    state = state or upstream_state(server, key)
    diff = MirrorDiff()
    _compare(
        diff,
        "projects",
        state["projects"],
        [(pr.layers_id, pr.raw) for pr in Project.objects.filter(is_gone=False)],
    )
    _compare(
        diff,
        "containers",
        {cid: item for cid, (_pid, item) in state["containers"].items()},
        [(c.layers_id, c.raw) for c in ContentContainer.objects.filter(is_gone=False)],
    )
    # A container must also sit under the right project.
    wrong_project = [
        c.layers_id
        for c in ContentContainer.objects.filter(is_gone=False).select_related("project")
        if c.layers_id in state["containers"]
        and state["containers"][c.layers_id][0] != c.project.layers_id
    ]
    diff.stale["containers"] += wrong_project
    _compare(
        diff,
        "ads_content",
        state["ads"],
        [
            ((a.project.layers_id, a.layers_id), a.raw)
            for a in AdsContent.objects.filter(is_gone=False).select_related("project")
        ],
    )
    # The configured boards (the sync's); boards people looked at are fetched on demand and
    # are not part of what a sync must mirror.
    configured = set(leaderboard_configured())
    latest: dict[tuple, list] = {}
    for snap in LeaderboardSnapshot.objects.filter(filters_key="").select_related("project"):
        if (snap.metric, snap.window) not in configured:
            continue
        k = (snap.project.layers_id, snap.metric, snap.window)
        if k not in latest or (snap.fetched_at, snap.pk) > latest[k][0]:
            latest[k] = ((snap.fetched_at, snap.pk), snap.items)
    _compare(
        diff,
        "leaderboards",
        {k: p.clean(v) for k, v in state["leaderboards"].items()},
        [(k, v[1]) for k, v in latest.items()],
    )
    # A score sample recorded twice for the same observation is a duplicate too.
    samples = Counter(ScoreSample.objects.values_list("ads_content_id", "score", "scored_at"))
    diff.duplicated["score_samples"] = [str(k) for k, n in samples.items() if n > 1]
    return diff


# --- figures -----------------------------------------------------------------------------------


def record_figure(area: str, **figures: Any) -> None:
    """Append one JSON line of figures to $RELIABILITY_FIGURES (if set) and print it."""
    line = json.dumps({"area": area, "db": connection.vendor, **figures}, default=str)
    print(f"FIGURES {line}")
    target = os.environ.get(FIGURES_ENV)
    if target:
        with open(target, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")


# --- subprocesses --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def database_url() -> str:
    """The test database as a DATABASE_URL a subprocess can open."""
    sd = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{sd['NAME']}"
    user = sd.get("USER") or "postgres"
    password = f":{sd['PASSWORD']}" if sd.get("PASSWORD") else ""
    host = sd.get("HOST") or "127.0.0.1"
    port = sd.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{sd['NAME']}"


def subprocess_env(base_url: str, api_key: str, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DEBUG": "true",
        "SECRET_KEY": "reliability-tests-not-secret",
        "DATABASE_URL": database_url(),
        "LAYERS_API_BASE_URL": base_url,
        "LAYERS_API_KEY": api_key,
        "LAYERS_API_BACKOFF_BASE": "0.01",
        "PYTHONUNBUFFERED": "1",
    }
    env.update(extra)
    return env


def manage(*args: str, env: Mapping[str, str], **popen: Any) -> subprocess.Popen:
    return subprocess.Popen(  # noqa: S603 - our own interpreter and manage.py
        [PYTHON, str(ROOT / "manage.py"), *args],
        cwd=ROOT,
        env=dict(env),
        stdout=popen.pop("stdout", subprocess.PIPE),
        stderr=popen.pop("stderr", subprocess.PIPE),
        text=True,
        **popen,
    )


class SandboxProcess:
    """``python -m sandbox`` on a free port in its own process (survives our SIGKILLs); its
    clock pinned at ``PINNED_NOW`` unless ``now`` says otherwise."""

    def __init__(self, **options: Any) -> None:
        self.port = free_port()
        args = [PYTHON, "-m", "sandbox", "--port", str(self.port)]
        for name, value in {"now": PINNED_NOW, **options}.items():
            args += [f"--{name.replace('_', '-')}", str(value)]
        self.proc = subprocess.Popen(  # noqa: S603
            args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self.root_url = f"http://127.0.0.1:{self.port}"
        self.base_url = f"{self.root_url}/v1"
        deadline = time.monotonic() + 30
        while True:
            try:
                info = requests.get(f"{self.root_url}/_sandbox/info", timeout=2).json()
                break
            except requests.RequestException:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the sandbox process did not start") from None
                time.sleep(0.1)
        self.keys: dict[str, str] = info["keys"]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> SandboxProcess:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


class TruncatingProxy:
    """A loopback HTTP proxy in front of a sandbox that cuts chosen answers mid-body.

    ``cut`` lists which requests of a method to cut, counted from 1: ``{"PATCH": {1}}`` lets
    the first PATCH reach the sandbox (it is applied), then sends the headers and half its
    body and closes the connection: the client saw an answer start and break off.
    """

    def __init__(self, target, cut: dict[str, set[int]]) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.target = target
        self.cut = cut
        self.seen: dict[str, int] = {}
        self.cuts = 0
        lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _forward(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {
                    k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")
                }
                upstream = requests.request(
                    self.command,
                    outer.target.root_url + self.path,
                    headers=headers,
                    data=body,
                    timeout=30,
                )
                with lock:
                    n = outer.seen[self.command] = outer.seen.get(self.command, 0) + 1
                    cut = n in outer.cut.get(self.command, set())
                    outer.cuts += cut
                payload = upstream.content
                self.send_response(upstream.status_code)
                for name, value in upstream.headers.items():
                    if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if cut:
                    self.wfile.write(payload[: len(payload) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(payload)

            do_GET = do_POST = do_PATCH = do_DELETE = _forward

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.root_url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.base_url = self.root_url + "/v1"
        self.keys = target.keys
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> TruncatingProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
