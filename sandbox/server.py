"""HTTP layer of the sandbox and the in-process API used by tests and benchmarks.

Request pipeline for /v1 (in this order): request id -> latency -> bearer auth (401)
-> fault draw -> rate limit (429) -> route (404/405) -> scope (403) -> idempotency
replay/conflict -> handler -> idempotency record -> response (or a dropped socket).
``/_sandbox/*`` (control) and ``/media/*`` (SVG) skip auth, faults and rate limits.

The clock: without ``now`` it starts at the wall clock and follows it (whole seconds), so
times the sandbox stamps (``overrideSetAt``, audit events) agree with the dashboard's own;
``/_sandbox/advance`` moves it ahead and it keeps following the wall clock from there. With
``now`` (an ISO-8601 time; tests and benchmarks pass ``PINNED_NOW``) it starts there and moves
only on ``/_sandbox/advance``, so the generated data is the same on every run.

    from sandbox.server import SandboxServer
    srv = SandboxServer(seed=1, projects=3, creatives_per_project=40, tier="unlimited",
                        dialect="seed")  # or "variant": see sandbox/dialects.py
    srv.start(); srv.base_url; srv.keys["main"]; srv.stop()
"""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from . import api, images
from .data import Store
from .dialects import DIALECTS, get_dialect, restamp
from .limits import FAULT_KINDS, Faults, RateLimiter
from .util import DAY, canonical_json, iso, new_request_id, parse_iso
from .webhooks import CONTENT_GENERATED, WebhookSender

ANY_HOST = "0.0.0.0"  # noqa: S104 - only compared against, to print a usable URL
# The fixed start of the clock that tests and benchmarks pin (``now=PINNED_NOW``, ``--now``).
PINNED_NOW = "2026-11-01T12:00:00Z"
IDEMPOTENCY_WINDOW = DAY
MAX_BODY = 1 << 20

_REASONS = {s.value: s.phrase for s in HTTPStatus}


def _dumps(obj: object) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def error_body(
    status: int, code: str, message: str, request_id: str, details: dict | None = None
) -> bytes:
    err = {"code": code, "message": message, "requestId": request_id}
    if details:
        err["details"] = details
    return _dumps({"error": err})


class _Drop(Exception):
    """Close the connection without answering."""


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr, handler, sandbox: SandboxServer) -> None:
        self.sandbox = sandbox
        self.open_sockets: set[socket.socket] = set()
        self.sockets_lock = threading.Lock()
        super().__init__(addr, handler)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "LayersSandbox/1.0"
    disable_nagle_algorithm = True
    timeout = 120  # idle keep-alive connections are closed after this many seconds

    def setup(self) -> None:
        super().setup()
        with self.server.sockets_lock:
            self.server.open_sockets.add(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            with self.server.sockets_lock:
                self.server.open_sockets.discard(self.connection)

    def log_message(self, format: str, *args) -> None:  # noqa: A002
        if self.server.sandbox.verbose:
            sys.stderr.write(f"{self.address_string()} - {format % args}\n")

    # -------------------------------------------------------------- plumbing
    def do_GET(self) -> None:  # noqa: N802
        self._dispatch()

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch()

    def do_PATCH(self) -> None:  # noqa: N802
        self._dispatch()

    def do_DELETE(self) -> None:  # noqa: N802
        self._dispatch()

    def do_PUT(self) -> None:  # noqa: N802
        self._dispatch()

    def _send(
        self,
        status: int,
        body: bytes,
        headers: dict[str, str],
        ctype: str = "application/json; charset=utf-8",
    ):
        out = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}\r\n"]
        out.append(f"Content-Type: {ctype}\r\nContent-Length: {len(body)}\r\n")
        for k, v in headers.items():
            out.append(f"{k}: {v}\r\n")
        if self.close_connection:
            out.append("Connection: close\r\n")
        out.append("\r\n")
        self.wfile.write("".join(out).encode("latin-1") + body)
        self.log_request(status, len(body))

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self.close_connection = True
            return self.rfile.read(MAX_BODY)
        return self.rfile.read(length) if length > 0 else b""

    def _dispatch(self) -> None:
        sb = self.server.sandbox
        rid = new_request_id()
        try:
            body = self._read_body()
        except (ValueError, OSError):
            self.close_connection = True
            return
        parts = urlsplit(self.path)
        path = parts.path.rstrip("/") or "/"
        query = parse_qs(parts.query, keep_blank_values=True)
        try:
            if path.startswith("/media/"):
                return self._media(sb, path, rid)
            sb.tick()
            if path.startswith("/_sandbox"):
                return self._control(sb, path, query, body, rid)
            return self._v1(sb, path, query, body, rid)
        except _Drop:
            self._drop()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    # -------------------------------------------------------------- /v1
    def _v1(self, sb: SandboxServer, path: str, query, body: bytes, rid: str) -> None:
        method = self.command
        cls = "read-light" if method == "GET" else "write-light"
        headers = {"X-Request-Id": rid}
        dialect = sb.dialect
        if not path.startswith("/v1/"):
            _, rl = sb.limiter.take(None, cls)
            headers.update(dialect.rate_headers(rl))
            msg = f"No route for {method} {path}. The API lives under /v1."
            return self._send(404, error_body(404, "NOT_FOUND", msg, rid), headers)
        if sb.latency_ms:
            time.sleep(sb.latency_ms / 1000)
        store = sb.store
        auth = self.headers.get("Authorization", "")
        key = None
        if auth[:7].lower() == "bearer ":
            key = store.authenticate(auth[7:].strip())
        if key is None:
            _, rl = sb.limiter.take(None, cls)
            headers.update(dialect.rate_headers(rl))
            msg = (
                "Missing API key: send Authorization: Bearer <key>."
                if not auth
                else "Invalid API key or authorization scheme (Bearer only)."
            )
            return self._send(401, error_body(401, "UNAUTHENTICATED", msg, rid), headers)

        fault = sb.faults.draw(key.id)
        drop_after = False
        if fault == "429":
            _, rl = sb.limiter.take(key.id, cls, consume=False)
            rl["X-RateLimit-Remaining"] = "0"
            headers.update(dialect.rate_headers(rl))
            headers["Retry-After"] = dialect.retry_after(1)
            return self._send(
                429, error_body(429, "RATE_LIMITED", "Rate limit exceeded (burst).", rid), headers
            )
        if fault in ("500", "502", "503"):
            _, rl = sb.limiter.take(key.id, cls, consume=False)
            headers.update(dialect.rate_headers(rl))
            status = int(fault)
            code = "INTERNAL" if status == 500 else "UPSTREAM_UNAVAILABLE"
            msg = (
                "Internal error (injected)."
                if status == 500
                else "Service temporarily unavailable (injected)."
            )
            if status == 503:
                headers["Retry-After"] = dialect.retry_after(1)
            return self._send(status, error_body(status, code, msg, rid), headers)
        if fault == "slow":
            time.sleep(sb.faults.slow_ms / 1000)
        elif fault == "drop_before" or (fault == "drop_after" and method == "GET"):
            raise _Drop
        elif fault == "drop_after":
            drop_after = True

        allowed, rl = sb.limiter.take(key.id, cls)
        headers.update(dialect.rate_headers(rl))
        if not allowed:
            wait = int(rl["Retry-After"])  # whole seconds, rounded up, at least 1
            headers["Retry-After"] = dialect.retry_after(wait)
            msg = f"Rate limit exceeded for {cls}; retry after {wait} s."
            return self._send(429, error_body(429, "RATE_LIMITED", msg, rid), headers)

        ctx = None
        try:
            handler, scope, params = api.resolve(method, path)
            if scope is not None and scope not in key.scopes:
                raise api.ApiError(
                    403,
                    "FORBIDDEN_SCOPE",
                    f"This API key lacks the {scope} scope.",
                    {"scope": scope},
                )
            ctx = api.Ctx(
                store, key, method, params, query, body, rid, sb.limiter.tier, dialect, sb.faults
            )
            status, payload = self._run(sb, store, ctx, handler, headers)
        except api.ApiError as e:
            headers.update(e.headers)
            status, payload = e.status, error_body(e.status, e.code, e.message, rid, e.details)
        if (
            ctx is not None
            and ctx.events
            and 200 <= status < 300
            and sb.webhooks is not None
            and key.org_id == sb.store.org1.id  # the endpoint is the first organization's
        ):
            # Queued, not sent: the answer never waits for a delivery (sandbox/webhooks.py).
            for event_type, container, fields in ctx.events:
                sb.webhooks.emit(
                    event_type,
                    at=sb.store.now,
                    container_id=container.id,
                    project_id=container.project_id,
                    fields=fields,
                )
        if drop_after:
            raise _Drop
        self._send(status, payload, headers)

    def _run(self, sb, store: Store, ctx: api.Ctx, handler, headers) -> tuple[int, bytes]:
        idem = self.headers.get("Idempotency-Key") if ctx.method in ("POST", "PATCH") else None
        with store.lock:
            record_key = None
            fingerprint = None
            if idem:
                record_key = (ctx.key.id, ctx.method, urlsplit(self.path).path, idem)
                try:
                    fingerprint = canonical_json(json.loads(ctx.body)) if ctx.body.strip() else ""
                except (ValueError, UnicodeDecodeError):
                    fingerprint = "raw:" + ctx.body.decode("latin-1")
                rec = store.idempotency.get(record_key)
                if rec is not None and store.now - rec[3] < IDEMPOTENCY_WINDOW:
                    if rec[0] != fingerprint:
                        raise api.ApiError(
                            409,
                            "IDEMPOTENCY_CONFLICT",
                            "This Idempotency-Key was already used with a different request body.",
                        )
                    if ctx.dialect.replay_marker:
                        headers["Idempotent-Replayed"] = "true"
                    headers.update(rec[4])
                    return rec[1], rec[2]
            status, payload, extra = handler(ctx)
            if ctx.dialect.offset_timestamps:
                payload = restamp(payload)
            out = _dumps(payload)
            headers.update(extra)
            if record_key is not None and 200 <= status < 300:
                store.idempotency[record_key] = (fingerprint, status, out, store.now, extra)
            return status, out

    # -------------------------------------------------------------- /media
    def _media(self, sb: SandboxServer, path: str, rid: str) -> None:
        parts = path.split("/")
        # /media/<project>/<object>/<name>.svg
        if self.command != "GET" or len(parts) != 5 or not parts[4].endswith(".svg"):
            return self._send(
                404, error_body(404, "NOT_FOUND", "No such media.", rid), {"X-Request-Id": rid}
            )
        store = sb.store
        with store.lock:
            p = store.projects.get(parts[2])
            found = None
            if p is not None:
                store.materialize(p)
                found = p.media_titles.get(parts[3])
        if found is None:
            return self._send(
                404, error_body(404, "NOT_FOUND", "No such media.", rid), {"X-Request-Id": rid}
            )
        svg = images.render(found[0], found[1], parts[4][:-4]).encode()
        headers = {"X-Request-Id": rid, "Cache-Control": "public, max-age=86400"}
        self._send(200, svg, headers, ctype="image/svg+xml")

    # -------------------------------------------------------------- /_sandbox
    def _control(self, sb: SandboxServer, path: str, query, body: bytes, rid: str) -> None:
        headers = {"X-Request-Id": rid}
        method = self.command

        def bad(msg: str, status: int = 400) -> None:
            self._send(status, error_body(status, "VALIDATION", msg, rid), headers)

        try:
            data = json.loads(body) if body.strip() else {}
        except ValueError:
            return bad("Body is not valid JSON.")
        if not isinstance(data, dict):
            return bad("Body must be a JSON object.")
        route = (method, path)
        if route == ("POST", "/_sandbox/advance"):
            raw = (query.get("hours") or [data.get("hours", 6)])[0]
            try:
                hours = float(raw)
            except (TypeError, ValueError):
                return bad("hours must be a number.")
            if not 0 < hours <= 24 * 60:
                return bad("hours must be > 0 and <= 1440.")
            with sb.store.lock:
                summary = sb.store.advance(hours)
                generated = sb.generated_events(summary)
            sb.emit_generated(generated)
            return self._send(200, _dumps(summary), headers)
        if route == ("POST", "/_sandbox/reset"):
            sb.reset()
            return self._send(200, _dumps({"ok": True, "now": iso(sb.store.now)}), headers)
        if route == ("GET", "/_sandbox/faults"):
            return self._send(200, _dumps(sb.faults.state()), headers)
        if route == ("POST", "/_sandbox/faults"):
            try:
                sb.faults.configure(
                    rate=data.get("rate", 0.0),
                    kinds=data.get("kinds"),
                    seed=data.get("seed", 7),
                    slow_ms=data.get("slowMs", 1500),
                    next_faults=data.get("next"),
                    walk_rescores=data.get("walkRescores", 0),
                )
            except (ValueError, TypeError) as e:
                return bad(str(e))
            return self._send(200, _dumps(sb.faults.state()), headers)
        if route == ("GET", "/_sandbox/state"):
            with sb.store.lock:
                return self._send(200, _dumps(sb.state(query.get("projectId", [None])[0])), headers)
        if route == ("GET", "/_sandbox/info"):
            return self._send(200, _dumps(sb.info()), headers)
        if route == ("GET", "/_sandbox/webhooks"):
            state = sb.webhooks.state() if sb.webhooks is not None else {"url": None}
            return self._send(200, _dumps(state), headers)
        self._send(
            404, error_body(404, "NOT_FOUND", f"No control route {method} {path}.", rid), headers
        )


class SandboxServer:
    """A running (or ready-to-run) sandbox. Binds its port at construction."""

    def __init__(
        self,
        seed: int = 1,
        projects: int = 6,
        creatives_per_project: int = 120,
        tier: str = "standard",
        fault_rate: float = 0.0,
        latency_ms: int = 0,
        now: str | None = None,
        api_key: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        rate_limit_overrides: dict | None = None,
        fault_kinds=None,
        fault_seed: int = 7,
        slow_ms: int = 1500,
        verbose: bool = False,
        dialect: str = "seed",
        walk_rescores: int = 0,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
    ) -> None:
        self.dialect = get_dialect(dialect)  # ValueError for an unknown name
        self.seed = int(seed)
        self.n_projects = int(projects)
        self.n_creatives = int(creatives_per_project)
        self.tier = tier
        self.latency_ms = int(latency_ms)
        # None: the wall clock, followed from then on; a timestamp pins it (module docstring).
        self.realtime = now is None
        self.start_ts = int(time.time()) if now is None else parse_iso(now)
        self.now_text = iso(self.start_ts)
        self._wall_mark = self.start_ts  # the wall time the clock last followed
        self.api_key = api_key
        self.verbose = verbose
        self.limiter = RateLimiter(tier, rate_limit_overrides)
        self._fault_defaults = dict(
            rate=fault_rate,
            kinds=fault_kinds,
            seed=fault_seed,
            slow_ms=slow_ms,
            walk_rescores=walk_rescores,
        )
        self.faults = Faults(**self._fault_defaults)
        self.httpd = _HTTPServer((host, port), Handler, self)
        self.host, self.port = self.httpd.server_address[:2]
        shown = "127.0.0.1" if host in (ANY_HOST, "") else host
        if ":" in shown:
            shown = f"[{shown}]"
        self.root_url = f"http://{shown}:{self.port}"
        self.base_url = self.root_url + "/v1"
        self.store = self._new_store()
        self._thread: threading.Thread | None = None
        # Signed webhook deliveries to this URL (sandbox/webhooks.py); None: none are sent.
        self.webhooks = (
            WebhookSender(webhook_url, webhook_secret or "", dialect=self.dialect)
            if webhook_url
            else None
        )

    def _new_store(self) -> Store:
        return Store(
            seed=self.seed,
            projects=self.n_projects,
            creatives_per_project=self.n_creatives,
            now=self.start_ts,
            media_base=self.root_url + "/media",
            api_key=self.api_key,
            dialect=self.dialect,
        )

    @property
    def keys(self) -> dict[str, str]:
        """Label -> key: main, readonly, teammate, noscope, other_org, other_teammate."""
        return {label: k.secret for label, k in self.store.keys.items()}

    def start(self) -> SandboxServer:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self.httpd.serve_forever,
                kwargs={"poll_interval": 0.01},  # stop() waits up to this long
                daemon=True,
                name="sandbox-http",
            )
            self._thread.start()
        return self

    def serve_forever(self) -> None:
        self.httpd.serve_forever(poll_interval=0.25)

    def stop(self) -> None:
        if self.webhooks is not None:
            self.webhooks.stop()
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self.httpd.server_close()
        with self.httpd.sockets_lock:
            socks = list(self.httpd.open_sockets)
        for s in socks:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def tick(self) -> None:
        """On the real-time clock, move the virtual clock by the wall time since the last tick
        (nothing is generated: new content and rescores come only with ``advance``)."""
        if not self.realtime:
            return
        store = self.store
        with store.lock:
            wall = int(time.time())
            if wall > self._wall_mark:
                store.now += wall - self._wall_mark
                self._wall_mark = wall

    def reset(self) -> None:
        """Back to the initial generated state; faults off, buckets and replays cleared. On
        the real-time clock the data is generated again around the current wall time."""
        old = self.store
        with old.lock:
            if self.realtime:
                self.start_ts = self._wall_mark = int(time.time())
                self.now_text = iso(self.start_ts)
            self.store = self._new_store()
        self.faults.configure()
        self.limiter.reset()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def generated_events(self, summary: dict) -> list[tuple]:
        """``content.generated`` for every generated container an advance completed, with
        its list row (``preview`` included, as REFERENCE 8.4 says the event carries). Only the
        first organization's (the main key's): a webhook endpoint is registered by one
        organization. Called under the store's lock."""
        if self.webhooks is None:
            return []
        events = []
        for project_id, changes in summary.get("projects", {}).items():
            project = self.store.projects[project_id]
            if project.org_id != self.store.org1.id:
                continue
            for container_id in changes.get("containersCompleted", []):
                container = project.containers[container_id]
                if container.creative_type == "generated":
                    events.append((container, dict(container.row()), self.store.now))
        return events

    def emit_generated(self, events: list[tuple]) -> None:
        for container, row, at in events:
            self.webhooks.emit(
                CONTENT_GENERATED,
                at=at,
                container_id=container.id,
                project_id=container.project_id,
                fields=row,
            )

    def info(self) -> dict:
        return {
            "baseUrl": self.base_url,
            "rootUrl": self.root_url,
            "keys": self.keys,
            "tier": self.tier,
            "dialect": self.dialect.name,
            "dialects": list(DIALECTS),
            "seed": self.seed,
            "projects": self.n_projects,
            "creativesPerProject": self.n_creatives,
            "now": iso(self.store.now),
            "faultKinds": list(FAULT_KINDS),
            "webhookUrl": self.webhooks.url if self.webhooks is not None else None,
        }

    def state(self, project_id: str | None) -> dict:
        store = self.store
        out = {"now": iso(store.now), "advances": store.advance_seq, "projects": []}
        for p in store.projects.values():
            if project_id and p.id != project_id:
                continue
            if project_id:
                store.materialize(p)
            entry = {
                "id": p.id,
                "organizationId": p.org_id,
                "status": p.row["status"],
                "materialized": p.materialized,
            }
            if p.materialized:
                counts: dict[str, int] = {}
                for c in p.containers.values():
                    counts[c.status] = counts.get(c.status, 0) + 1
                entry.update(
                    {
                        "containers": len(p.containers),
                        "containersByStatus": counts,
                        "adsContent": len(p.ads),
                        "overrides": sum(1 for r in p.ads.values() if r.override),
                    }
                )
            out["projects"].append(entry)
        return out
