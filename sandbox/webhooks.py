"""Signed webhook deliveries, as Layers sends them (REFERENCE 6 "Webhooks").

Given a URL and a secret (``--webhook-url`` / ``--webhook-secret``, or ``SANDBOX_WEBHOOK_URL``
/ ``SANDBOX_WEBHOOK_SECRET``; ``SandboxServer(webhook_url=, webhook_secret=)``), the sandbox
POSTs an event when its world does something the docs name an event for, in the first
organization (the ``main`` key's: an endpoint is registered by one organization):

* ``content.generated``: a generated container completes (on ``/_sandbox/advance``);
* ``content.approved`` / ``content.rejected``: ``POST /v1/content/{id}/approve|reject``
  succeeds (not on an idempotent replay, which changes nothing);
* ``job.*``: never, as the sandbox has no jobs. Other documented events (``post.*``,
  ``social_account.*``, …) concern things it does not model either.

Each delivery: ``X-Layers-Event-Id: evt_<ULID>`` (the same on every retry) and
``X-Layers-Signature: t=<unix>,v1=<hex>``, the HMAC-SHA256 of ``"<t>.<body>"``, one ``v1`` per
secret (``--webhook-secret old,new`` signs with both, as Layers does during a rotation). ``t``
is the **real** clock at each attempt, also when the sandbox's clock is pinned (``--now``): a
receiver checks it against its own clock. The event's ``createdAt`` is the virtual clock.

Delivery runs on a background thread, in order, so an API answer never waits for it: up to 4
attempts (after 0, 0.5, 2 and 5 s: C14's schedule of 8 attempts over 32 h, compressed), the
same body each time; a 2xx ends it, a 4xx other than 429 too (C14: "4xx except 429 not
retried"). ``GET /_sandbox/webhooks`` lists the recent deliveries and their outcome.

The payload's shape is not documented; each dialect picks one (``Dialect.webhook_*``):
``seed`` ``{"id", "type", "createdAt", "data": {"id": "cnt_…", "projectId": "prj_…", …}}`` with
the container's list row (``preview`` included) as ``data`` for ``content.generated``;
``variant`` ``{"eventId", "event", "occurredAt", "data": {"contentId": "<uuid>", "project":
{"id": "<uuid>"}, …}}``. Standard library only.
"""

from __future__ import annotations

import collections
import hashlib
import hmac
import json
import os
import queue
import threading
import time
import urllib.error
import urllib.request

from .dialects import SEED, Dialect, bare, restamp
from .util import iso, ulid_from

RETRY_DELAYS = (0.0, 0.5, 2.0, 5.0)  # seconds before each attempt
TIMEOUT = 5.0
KEEP = 500  # deliveries listed by /_sandbox/webhooks

CONTENT_GENERATED = "content.generated"
CONTENT_APPROVED = "content.approved"
CONTENT_REJECTED = "content.rejected"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secrets: list[str], timestamp: int, body: bytes) -> str:
    return ",".join([f"t={timestamp}", *(f"v1={sign(s, timestamp, body)}" for s in secrets)])


def new_event_id() -> str:
    """``evt_<ULID>`` from wall-clock time and OS randomness."""
    return "evt_" + ulid_from(int(time.time() * 1000), int.from_bytes(os.urandom(10), "big"))


def event_body(
    dialect: Dialect,
    *,
    event_id: str,
    event_type: str,
    at: int,
    container_id: str,
    project_id: str,
    fields: dict,
) -> bytes:
    """The delivery's body in ``dialect``'s shape (module docstring). ``fields`` are the
    container's (a list row for ``content.generated``, the review's outcome otherwise)."""
    data = {k: v for k, v in fields.items() if k not in ("id", "projectId")}
    if dialect.webhook_nested_ids:
        data = {"contentId": bare(container_id), "project": {"id": bare(project_id)}, **data}
    else:
        data = {"id": container_id, "projectId": project_id, **data}
    id_key, type_key, at_key = dialect.webhook_envelope_keys
    payload = {id_key: event_id, type_key: event_type, at_key: iso(at), "data": data}
    if dialect.offset_timestamps:
        payload = restamp(payload)
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


class WebhookSender:
    """Queues events and delivers them from one daemon thread (module docstring)."""

    def __init__(
        self,
        url: str,
        secret: str,
        *,
        dialect: Dialect = SEED,
        delays: tuple[float, ...] = RETRY_DELAYS,
        timeout: float = TIMEOUT,
    ) -> None:
        self.url = url
        self.secrets = [s.strip() for s in secret.split(",") if s.strip()]
        if not url or not self.secrets:
            raise ValueError("a webhook URL needs a secret to sign with")
        self.dialect = dialect
        self.delays = delays
        self.timeout = timeout
        self.deliveries: collections.deque[dict] = collections.deque(maxlen=KEEP)
        self._queue: queue.Queue = queue.Queue()
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        # Never through an HTTP proxy from the environment: the receiver is named directly.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def emit(
        self, event_type: str, *, at: int, container_id: str, project_id: str, fields: dict
    ) -> str:
        """Queue one event (returns at once); its id."""
        event_id = new_event_id()
        body = event_body(
            self.dialect,
            event_id=event_id,
            event_type=event_type,
            at=at,
            container_id=container_id,
            project_id=project_id,
            fields=fields,
        )
        record = {
            "eventId": event_id,
            "type": event_type,
            "containerId": container_id,
            "attempts": 0,
            "status": None,
            "outcome": "queued",
        }
        with self._lock:
            self.deliveries.append(record)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, daemon=True, name="sandbox-webhooks"
                )
                self._thread.start()
        self._queue.put((record, body))
        return event_id

    def pending(self) -> int:
        """Events not delivered or given up yet."""
        with self._lock:
            return sum(1 for d in self.deliveries if d["outcome"] in ("queued", "retrying"))

    def state(self) -> dict:
        with self._lock:
            return {"url": self.url, "deliveries": [dict(d) for d in self.deliveries]}

    def stop(self, timeout: float = 2.0) -> None:
        self._stopping.set()
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(timeout=timeout)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None or self._stopping.is_set():
                return
            self._deliver(*item)

    def _deliver(self, record: dict, body: bytes) -> None:
        for delay in self.delays:
            if delay and self._stopping.wait(delay):
                return
            timestamp = int(time.time())  # the real clock, whatever the virtual one says
            request = urllib.request.Request(  # noqa: S310 - the URL the operator gave
                self.url,
                data=body,
                method="POST",
                headers={
                    "Content-Type": "application/json",
                    "User-Agent": "LayersSandbox-Webhooks/1.0",
                    "X-Layers-Event-Id": record["eventId"],
                    "X-Layers-Signature": signature_header(self.secrets, timestamp, body),
                },
            )
            try:
                with self._opener.open(request, timeout=self.timeout) as answer:
                    status = answer.status
            except urllib.error.HTTPError as error:
                status = error.code
            except (urllib.error.URLError, OSError, ValueError):
                status = None
            with self._lock:
                record["attempts"] += 1
                record["status"] = status
                if status is not None and 200 <= status < 300:
                    record["outcome"] = "delivered"
                    return
                if status is not None and 400 <= status < 500 and status != 429:
                    record["outcome"] = "refused"
                    return
                record["outcome"] = "retrying"
        with self._lock:
            record["outcome"] = "gave up"
