"""The Layers Partner API client.

Everything about talking to Layers is decided here, once:

* **Auth and identity.** ``Authorization: Bearer <key>`` (the only form the newer docs
  accept) and a ``User-Agent`` naming layersadmin and its version. The key lives only in the
  session's headers: it is never logged, never in an exception, never in a repr.
* **Timeouts.** Explicit connect and read timeouts on every request.
* **Retries.** Connection errors, timeouts, 5xx and 429 are retried with exponential backoff
  and full jitter, a bounded number of attempts. Other 4xx are the caller's bug or a policy
  gate: never retried. Writes (POST, PATCH) carry an ``Idempotency-Key`` made once per logical
  operation and sent unchanged on every attempt, so the API applies a retried write at most
  once; DELETE (archive) is idempotent by nature. A write that never got an answer, or whose
  retries ended on 5xx/429 after an attempt that got none, raises ``LayersOutcomeUnknown``,
  distinct from ``LayersAPIError`` (the API refused).
* **429 waits.** A 429 waits what ``Retry-After`` says, as delta-seconds or as an HTTP date (a
  date in the past: no wait), up to ``retry_after_cap``. A 429 without ``Retry-After`` waits
  ``throttled_wait`` (``THROTTLED_WAIT`` = 60 s, a whole rate window, plus up to
  ``THROTTLED_JITTER`` s), never cut short by ``retry_after_cap``: retrying inside the window
  that refused us would only be refused again. Either wait also holds the class's pacer, so
  other threads sharing the client wait too (with a shared budget: every process on the key).
* **Pacing.** Requests are paced per endpoint class by ``ratelimit.RatePacer`` from the rate
  tier alone (REFERENCE 5): the tier named by ``tier=`` (``get_client()`` passes
  ``LAYERS_API_TIER``), which wins, else the one ``/whoami`` reports (``ensure_tier()``; the
  sync asks first). An unknown or missing tier paces as ``standard``, and so does a client
  that has not asked yet; ``unlimited`` (configured only: the sandbox and the benchmark)
  turns pacing off. No ``X-RateLimit-*`` header is read: the docs do not name them.
* **The 60-second guarantee.** A client never releases more requests of a class than its
  per-minute limit in any 60-second window, the opening burst included (a small burst of 5 %
  of the limit, then an even pace at 95 %; proof in ``ratelimit``).
* **One budget per key, shared by every process.** ``get_client()`` gives the client a
  ``budget.SharedPacer``: one bucket per (key, endpoint class) that every process using the
  key draws from -- sync workers on any host and the web processes -- in Redis when
  ``CACHE_URL`` is a Redis (one atomic script, one round trip per call), else in the database
  (``layersadmin.budget_db``: a sync takes tokens in batches, one short UPDATE per batch).
  ``LAYERS_RATE_BUDGET`` (auto|redis|database|local) chooses; ``local`` is the per-process
  ``RatePacer`` above, and so is a client built without ``get_client`` unless ``pacer=`` is
  given. Then the guarantee holds for all processes together (proof in ``budget``), and
  **people keep headroom**: a sync's request goes only once the bucket would be full again,
  leaving ``B - 1`` tokens (at least 2) to requests made with ``max_wait``, and books at most
  ``min(2 s, (B - 2) T)`` ahead, so a person's request never waits behind a sync's (only
  behind other people's). ``unlimited`` consults no budget at all. The key is never stored:
  buckets are named by its hash (``budget.key_id``).
* **A person never waits past the web timeout.** ``request`` and the endpoint methods a page
  calls (``project_get``, ``project_create``, ``project_update``, ``project_archive``,
  ``ads_content_override_set``, ``content_approve``, ``content_reject``, ``top_performers``,
  ``content_get`` and ``iter_pages``) take ``max_wait``:
  the seconds the call may spend waiting on purpose (for the pacer, a ``Retry-After`` or a
  backoff), summed over its attempts; ``None`` (the default, for syncs) waits as long as it
  takes. Views pass ``settings.LAYERS_INTERACTIVE_MAX_WAIT``. When the pacer, or a 429's wait,
  would take longer than what is left, the call raises ``LayersBusy`` at once, without
  sleeping: code ``BUSY``, ``retry_after`` in whole seconds, message "Layers is busy: nothing
  was changed, try again in N s." -- unless an earlier attempt of the same write got no
  answer (it may have been applied): then ``LayersOutcomeUnknown``, as above. A 5xx or
  no-answer backoff that does not fit ends the retries as if they had run out. ``max_wait``
  does not bound the HTTP exchanges themselves: the connect and read timeouts do.
* **Paging.** Cursor pagination is hidden behind iterators; cursors and ids are opaque strings,
  passed back verbatim and never parsed. A walk ends only when ``nextCursor`` is null or
  absent (a page shorter than ``limit`` is not the end); a cursor that repeats itself, or one
  that is not a non-empty string, stops the walk with a ``LayersProtocolError``.
* **Fallbacks for parameters only REFERENCE names.** A list call marks the query parameters it
  can do without as optional (``iter_pages(optional=...)``; by default ``limit`` on every
  list, plus ``sort`` on ads-content: the API has defaults for both). When the *first* page is
  refused with ``422 VALIDATION``, the walk is retried once without the parameter
  ``details.issues[0].path`` names if it is optional, else without every optional one, with a
  warning in the log; ``stats.dropped_params`` lists each ``(path, name)`` dropped, and later
  walks of the same endpoint by the same client leave it out from the start. A refusal
  naming a parameter that is not optional (e.g. ``status`` on projects: dropping it would
  change the answer's meaning) is raised as is, and so is a second refusal.

The client returns plain data (dicts) and never touches the ORM.
"""

from __future__ import annotations

import copy
import email.utils
import logging
import math
import random
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from layersadmin import __version__
from layersadmin.layers.budget import key_id, pacer_from_settings
from layersadmin.layers.errors import (
    LayersAPIError,
    LayersBusy,
    LayersOutcomeUnknown,
    LayersProtocolError,
    LayersUnavailable,
)
from layersadmin.layers.ratelimit import (
    TIER_LIMITS,
    RatePacer,
    WouldWait,
    configured_tier,
    endpoint_class,
)

logger = logging.getLogger(__name__)

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
# Exceptions that mean "no usable answer came back": the connection failed or timed out, or
# it broke while the body was being read (a truncated body is ChunkedEncodingError, which is
# not a ConnectionError). Retried; never let out, as their tracebacks reach into requests.
NO_ANSWER = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)
WRITE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})
# A 429 without Retry-After waits a whole rate window (the limits are per minute), plus jitter
# so that clients refused together do not come back together.
THROTTLED_WAIT = 60.0
THROTTLED_JITTER = 5.0
RETRY_AFTER_JITTER = 0.1
# Query parameters every list endpoint has a default for (REFERENCE 4), and those of one list.
LIST_OPTIONAL = ("limit",)
ADS_CONTENT_OPTIONAL = ("limit", "sort")


@dataclass
class ClientStats:
    """What a client did, for SyncRun records and benchmarks."""

    calls: int = 0
    retries: int = 0
    throttled: int = 0
    busy: int = 0  # calls refused with LayersBusy (max_wait)
    by_class: dict[str, int] = field(default_factory=dict)
    # (path, name) of each optional query parameter a walk dropped after a 422 VALIDATION
    dropped_params: list[tuple[str, str]] = field(default_factory=list)

    def snapshot(self) -> dict[str, int]:
        return {"calls": self.calls, "retries": self.retries, "throttled": self.throttled}


class ApiResponse(dict):
    """A JSON object from the API, with the ``requestId`` it was answered under."""

    request_id: str = ""


@dataclass
class Page:
    """One page of a list endpoint; ``fetched_at`` is when its request was sent."""

    items: list[dict[str, Any]]
    next_cursor: str | None
    fetched_at: datetime


class LayersClient:
    """A thread-safe client for one API key. Build it with ``get_client()``."""

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        max_attempts: int = 6,
        backoff_base: float = 0.25,
        backoff_cap: float = 20.0,
        retry_after_cap: float = 60.0,
        throttled_wait: float = THROTTLED_WAIT,
        tier: str | None = None,
        pacer: RatePacer | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """``tier``: standard|pilot|partner|unlimited, or None to learn it from ``/whoami``
        (``ValueError`` otherwise). A ``pacer`` passed in is set to ``tier`` when one is given.
        """
        # The key goes into the session's headers first and its name is dropped at once, so no
        # frame local holds it should anything below raise (a traceback shows frame locals).
        self._session = requests.Session()
        self._session.headers["Authorization"] = f"Bearer {api_key}"
        del api_key
        self.base_url = base_url.rstrip("/")
        self.timeout = (connect_timeout, read_timeout)
        self.max_attempts = max(1, max_attempts)
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.retry_after_cap = retry_after_cap
        self.throttled_wait = throttled_wait
        self.tier = configured_tier(tier)  # None: /whoami decides
        self.pacer = pacer if pacer is not None else RatePacer()
        if self.tier is not None:
            self.pacer.set_tier(self.tier)
        self.stats = ClientStats()
        self._sleep = sleep
        self._stats_lock = threading.Lock()
        self._tier_known = self.tier is not None
        # Optional query parameters the API refused, per endpoint (last path segment): later
        # walks of the same endpoint leave them out instead of being refused again.
        self._refused_params: dict[str, set[str]] = {}
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=16, max_retries=0)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        self._session.headers.update(
            {
                "User-Agent": f"layersadmin/{__version__} (+python-requests)",
                "Accept": "application/json",
            }
        )

    def __repr__(self) -> str:
        return f"<LayersClient {self.base_url}>"

    def close(self) -> None:
        self._session.close()

    def clone(self) -> LayersClient:
        """A client for another thread: its own HTTP session (``requests.Session`` is not
        thread-safe), the same key, settings and pacing, and the same stats, so a sync's
        threads are counted and paced as one."""
        other = copy.copy(self)
        other._session = requests.Session()
        other._session.headers.update(self._session.headers)
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=16, max_retries=0)
        other._session.mount("http://", adapter)
        other._session.mount("https://", adapter)
        return other

    # --- the one request path -------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        idempotency_key: str | None = None,
        max_wait: float | None = None,
    ) -> ApiResponse:
        """Send one logical request (retrying as the module docstring says); return the JSON.

        ``max_wait``: seconds this call may spend waiting (pacer, Retry-After, backoff) before
        it raises ``LayersBusy`` instead; ``None`` waits as long as it takes.
        """
        method = method.upper()
        url = f"{self.base_url}/{path.lstrip('/')}"
        headers: dict[str, str] = {}
        if method in {"POST", "PATCH"}:
            headers["Idempotency-Key"] = idempotency_key or str(uuid.uuid4())
        cls = endpoint_class(method)
        is_write = method in WRITE_METHODS
        last_error: Exception | None = None
        unanswered = False  # an attempt of this write got no answer (it may have been applied)
        budget = None if max_wait is None else max(0.0, float(max_wait))
        waited = 0.0  # seconds this call has spent waiting on purpose

        def left() -> float | None:
            return None if budget is None else budget - waited

        for attempt in range(1, self.max_attempts + 1):
            if attempt > 1:
                with self._stats_lock:
                    self.stats.retries += 1
            try:
                waited += self.pacer.acquire(cls, max_wait=left())
            except WouldWait as exc:
                self._busy(exc.seconds, method, path, unanswered=unanswered)
            with self._stats_lock:
                self.stats.calls += 1
                self.stats.by_class[cls] = self.stats.by_class.get(cls, 0) + 1
            try:
                response = self._session.request(
                    method, url, params=params, json=json, headers=headers, timeout=self.timeout
                )
            except NO_ANSWER as exc:
                # No (whole) answer. For a write the change may have been applied: the next
                # attempt carries the same Idempotency-Key, so the API applies it at most once.
                last_error = exc
                unanswered = unanswered or is_write
                logger.warning(
                    "Layers %s %s: %s (attempt %d/%d)",
                    method,
                    path,
                    type(exc).__name__,
                    attempt,
                    self.max_attempts,
                )
                if attempt < self.max_attempts:
                    delay = self._backoff(attempt)
                    if budget is None or delay <= left():
                        self._sleep(delay)
                        waited += delay
                        continue
                message = f"no answer from the Layers API after {attempt} attempts"
                if is_write:
                    raise LayersOutcomeUnknown(
                        f"{message}; the change may or may not have been applied"
                    ) from None
                raise LayersUnavailable(message) from None

            self.pacer.observe(cls, response.headers)
            if response.status_code < 400:
                return self._json(response, method, path)

            error = self._api_error(response)
            status = response.status_code
            if status == 429:
                with self._stats_lock:
                    self.stats.throttled += 1
            if status in RETRYABLE_STATUSES and attempt < self.max_attempts:
                delay, said = self._retry_delay(response, attempt)
                if status == 429:
                    self.pacer.hold(cls, delay)  # the whole class is refused, not just us
                if budget is None or delay <= left():
                    last_error = error
                    logger.warning(
                        "Layers %s %s: HTTP %s %s, retrying in %.2fs (attempt %d/%d) [request %s]",
                        method,
                        path,
                        status,
                        error.code,
                        delay,
                        attempt,
                        self.max_attempts,
                        error.request_id,
                    )
                    self._sleep(delay)
                    waited += delay
                    continue
                if status == 429:
                    self._busy(
                        said,
                        method,
                        path,
                        unanswered=unanswered,
                        status=status,
                        request_id=error.request_id,
                    )
                # A 5xx whose backoff does not fit in max_wait: as if the attempts ran out.
            if status in RETRYABLE_STATUSES and not is_write:
                raise LayersUnavailable(
                    error.message,
                    status=error.status,
                    code=error.code,
                    request_id=error.request_id,
                )
            if status in RETRYABLE_STATUSES and unanswered:
                # The last answer (5xx, 429) says nothing about an earlier attempt that got
                # none: that one may have been applied. Not "refused": outcome unknown.
                raise LayersOutcomeUnknown(
                    f"{error.message} (HTTP {error.status} {error.code} after an attempt "
                    "that got no answer); the change may or may not have been applied",
                    status=error.status,
                    request_id=error.request_id,
                )
            raise error
        raise LayersUnavailable(f"gave up: {last_error}")  # pragma: no cover - loop always exits

    def _busy(
        self,
        seconds: float,
        method: str,
        path: str,
        *,
        unanswered: bool,
        status: int | None = None,
        request_id: str = "",
    ) -> None:
        """Raise for a wait longer than ``max_wait`` allows (never returns)."""
        with self._stats_lock:
            self.stats.busy += 1
        if unanswered:
            raise LayersOutcomeUnknown(
                f"Layers is busy (retry in {max(1, math.ceil(seconds))} s) after an attempt "
                "that got no answer; the change may or may not have been applied",
                status=status,
                request_id=request_id,
            ) from None
        logger.info("Layers %s %s: busy, would wait %.1fs; not waiting", method, path, seconds)
        raise LayersBusy(seconds, status=status, request_id=request_id) from None

    def _json(self, response: requests.Response, method: str, path: str) -> ApiResponse:
        try:
            data = response.json()
        except ValueError:
            raise LayersProtocolError(
                f"{method} {path} answered HTTP {response.status_code} with a non-JSON body",
                status=response.status_code,
                request_id=response.headers.get("X-Request-Id", ""),
            ) from None
        if not isinstance(data, dict):
            raise LayersProtocolError(
                f"{method} {path} answered JSON that is not an object",
                status=response.status_code,
                request_id=response.headers.get("X-Request-Id", ""),
            )
        result = ApiResponse(data)
        result.request_id = response.headers.get("X-Request-Id", "")[:64]
        return result

    @staticmethod
    def _api_error(response: requests.Response) -> LayersAPIError:
        """Parse the error envelope ``{"error": {code, message, requestId, details?}}``."""
        request_id = response.headers.get("X-Request-Id", "")
        code, message, details = f"HTTP_{response.status_code}", response.reason or "", {}
        try:
            body = response.json()
        except ValueError:
            body = None
        envelope = body.get("error") if isinstance(body, dict) else None
        if isinstance(envelope, dict):
            code = str(envelope.get("code") or code)[:64]
            message = str(envelope.get("message") or message)[:1000]
            request_id = str(envelope.get("requestId") or request_id)[:64]
            if isinstance(envelope.get("details"), dict):
                details = envelope["details"]
        return LayersAPIError(
            message or "the Layers API refused the request",
            status=response.status_code,
            code=code,
            request_id=request_id,
            details=details,
        )

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter."""
        return random.uniform(0, min(self.backoff_cap, self.backoff_base * 2 ** (attempt - 1)))

    def _retry_delay(self, response: requests.Response, attempt: int) -> tuple[float, float]:
        """(how long to sleep before the next attempt, how long the API asked for)."""
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if retry_after is not None:
            delay = min(self.retry_after_cap, retry_after) + random.uniform(0, RETRY_AFTER_JITTER)
            return delay, retry_after
        if response.status_code == 429:
            # No Retry-After: wait for the window that refused us to pass. Not capped.
            return self.throttled_wait + random.uniform(0, THROTTLED_JITTER), self.throttled_wait
        delay = self._backoff(attempt)
        return delay, delay

    # --- pagination -----------------------------------------------------------------------------

    def iter_pages(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        max_pages: int = 100_000,
        optional: Iterable[str] | None = None,
        max_wait: float | None = None,
    ) -> Iterator[Page]:
        """Walk a cursor-paginated list; yields pages until ``nextCursor`` is null or absent.

        ``optional``: the query parameters the walk may drop if the API refuses the first page
        with 422 VALIDATION (module docstring); ``None`` means the endpoint's own
        (``optional_params(path)``), ``()`` none. ``max_wait`` applies to each page's request.
        """
        query = dict(params or {})
        droppable = optional_params(path) if optional is None else tuple(optional)
        endpoint = path.rstrip("/").rsplit("/", 1)[-1]
        with self._stats_lock:
            refused_before = self._refused_params.get(endpoint, set()).intersection(droppable)
        for name in refused_before:
            query.pop(name, None)
        seen: set[str] = set()
        for number in range(max_pages):
            fetched_at = datetime.now(UTC)
            try:
                data = self.request("GET", path, params=query, max_wait=max_wait)
            except LayersAPIError as exc:
                dropped = _droppable(exc, query, droppable) if number == 0 else ()
                if not dropped:
                    raise
                logger.warning(
                    "Layers GET %s refused %s (HTTP %s %s [request %s]); retrying without %s",
                    path,
                    ", ".join(sorted(query)),
                    exc.status,
                    exc.code,
                    exc.request_id,
                    ", ".join(dropped),
                )
                for name in dropped:
                    query.pop(name, None)
                with self._stats_lock:
                    self.stats.dropped_params.extend((path, name) for name in dropped)
                    self._refused_params.setdefault(endpoint, set()).update(dropped)
                fetched_at = datetime.now(UTC)
                data = self.request("GET", path, params=query, max_wait=max_wait)
            items = data.get("items")
            if not isinstance(items, list):
                raise LayersProtocolError(f"GET {path} answered without an items list")
            next_cursor = data.get("nextCursor")
            if next_cursor is not None and (not isinstance(next_cursor, str) or not next_cursor):
                raise LayersProtocolError(f"GET {path} answered a nextCursor that is not a cursor")
            yield Page(
                items=[item for item in items if isinstance(item, dict)],
                next_cursor=next_cursor,
                fetched_at=fetched_at,
            )
            # Only a null or absent nextCursor ends the walk: a short page does not.
            if next_cursor is None:
                return
            if next_cursor in seen:
                raise LayersProtocolError(f"GET {path} returned a cursor it had already returned")
            seen.add(next_cursor)
            query["cursor"] = next_cursor
        raise LayersProtocolError(f"GET {path} did not end after {max_pages} pages")

    def iter_items(self, path: str, params: Mapping[str, Any] | None = None) -> Iterator[dict]:
        for page in self.iter_pages(path, params):
            yield from page.items

    # --- endpoints ------------------------------------------------------------------------------

    def whoami(self) -> dict[str, Any]:
        """``GET /whoami``. Its ``rateLimitTier`` sets the pacing unless a tier was configured;
        a name REFERENCE 5 does not list (or none) paces as standard."""
        data = self.request("GET", "/whoami")
        if self.tier is None:
            reported = data.get("rateLimitTier")
            name = reported.strip().lower() if isinstance(reported, str) else ""
            if name not in TIER_LIMITS:
                logger.warning(
                    "Layers /whoami reported rate tier %r: pacing as standard",
                    str(reported)[:32] if reported is not None else None,
                )
            self.pacer.set_tier(name if name in TIER_LIMITS else "standard")
            self._tier_known = True
        return data

    def ensure_tier(self) -> None:
        """Learn the rate tier once (unless configured), so pacing starts before the first 429."""
        if not self._tier_known:
            self.whoami()

    def projects_pages(self, *, status: str | None = None, limit: int = 200) -> Iterator[Page]:
        # ``status`` is never dropped: without it the walk would answer another question.
        params: dict[str, Any] = {"limit": limit}
        if status:
            params["status"] = status
        return self.iter_pages("/projects", params)

    def project_get(self, project_id: str, *, max_wait: float | None = None) -> dict[str, Any]:
        return self.request("GET", f"/projects/{project_id}", max_wait=max_wait)

    def project_create(
        self,
        *,
        data: Mapping[str, Any],
        idempotency_key: str,
        max_wait: float | None = None,
    ) -> dict[str, Any]:
        return self.request(
            "POST",
            "/projects",
            json=dict(data),
            idempotency_key=idempotency_key,
            max_wait=max_wait,
        )

    def project_update(
        self,
        project_id: str,
        *,
        data: Mapping[str, Any],
        idempotency_key: str,
        max_wait: float | None = None,
    ) -> dict[str, Any]:
        return self.request(
            "PATCH",
            f"/projects/{project_id}",
            json=dict(data),
            idempotency_key=idempotency_key,
            max_wait=max_wait,
        )

    def project_archive(self, project_id: str, *, max_wait: float | None = None) -> dict[str, Any]:
        return self.request("DELETE", f"/projects/{project_id}", max_wait=max_wait)

    def content_pages(
        self, project_id: str, *, since: str | None = None, limit: int = 200, **filters: Any
    ) -> Iterator[Page]:
        params: dict[str, Any] = {"limit": limit, **{k: v for k, v in filters.items() if v}}
        if since:
            params["since"] = since
        return self.iter_pages(f"/projects/{project_id}/content", params)

    def content_get(self, container_id: str, *, max_wait: float | None = None) -> dict[str, Any]:
        return self.request("GET", f"/content/{container_id}", max_wait=max_wait)

    def content_approve(
        self,
        container_id: str,
        *,
        note: str | None = None,
        idempotency_key: str,
        max_wait: float | None = None,
    ) -> dict[str, Any]:
        """POST /content/{id}/approve (REFERENCE 8.5; scope ``content:approve``). The note is
        optional: without one the body is ``{}``. Cannot be undone, and may promote scheduled
        posts waiting for the approval (``pendingSchedulePromotion`` in the answer)."""
        body = {"note": note} if note else {}
        return self.request(
            "POST",
            f"/content/{container_id}/approve",
            json=body,
            idempotency_key=idempotency_key,
            max_wait=max_wait,
        )

    def content_reject(
        self,
        container_id: str,
        *,
        reason: str,
        idempotency_key: str,
        max_wait: float | None = None,
    ) -> dict[str, Any]:
        """POST /content/{id}/reject with the required ``reason`` (REFERENCE 8.5)."""
        return self.request(
            "POST",
            f"/content/{container_id}/reject",
            json={"reason": reason},
            idempotency_key=idempotency_key,
            max_wait=max_wait,
        )

    def ads_content_pages(
        self, project_id: str, *, limit: int = 200, sort: str | None = None, **filters: Any
    ) -> Iterator[Page]:
        """``sort``: score_desc (the API's default), score_asc or scored_at_desc (REFERENCE
        8.6); dropped, like ``limit``, if the API refuses it (``ADS_CONTENT_OPTIONAL``)."""
        params: dict[str, Any] = {"limit": limit, **{k: v for k, v in filters.items() if v}}
        if sort:
            params["sort"] = sort
        return self.iter_pages(f"/projects/{project_id}/ads-content", params)

    def ads_content_override_set(
        self,
        project_id: str,
        ads_content_id: str,
        *,
        override: str | None,
        note: str | None,
        idempotency_key: str,
        max_wait: float | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"override": override}
        if note:
            body["note"] = note
        return self.request(
            "PATCH",
            f"/projects/{project_id}/ads-content/{ads_content_id}",
            json=body,
            idempotency_key=idempotency_key,
            max_wait=max_wait,
        )

    def top_performers(
        self,
        project_id: str,
        *,
        metric: str,
        window: str = "30d",
        source_types: list[str] | None = None,
        platforms: list[str] | None = None,
        limit: int | None = None,
        include_ineligible: bool = False,
        max_wait: float | None = None,
    ) -> dict[str, Any]:
        params: dict[str, Any] = {"metric": metric, "window": window}
        if source_types:
            params["sourceType"] = list(source_types)
        if platforms:
            params["platform"] = list(platforms)
        if limit:
            params["limit"] = limit
        if include_ineligible:
            params["includeIneligible"] = "true"
        return self.request(
            "GET", f"/projects/{project_id}/top-performers", params=params, max_wait=max_wait
        )

    def audit_log_pages(self, **filters: Any) -> Iterator[Page]:
        return self.iter_pages("/audit-log", {k: v for k, v in filters.items() if v})


def optional_params(path: str) -> tuple[str, ...]:
    """The query parameters the endpoint helpers mark optional for a list at ``path``.

    Kept in one table keyed by path (not passed by each helper) so that subclasses overriding
    ``iter_pages(path, params, *, max_pages)`` keep working unchanged.
    """
    if path.rstrip("/").endswith("/ads-content"):
        return ADS_CONTENT_OPTIONAL
    return LIST_OPTIONAL


def _issue_param(details: Mapping[str, Any]) -> str | None:
    """The query parameter ``details.issues[0].path`` names (``"limit"``, ``["limit"]``,
    ``["query", "limit"]`` or ``"query.limit"``), if any."""
    issues = details.get("issues") if isinstance(details, Mapping) else None
    if not isinstance(issues, list) or not issues or not isinstance(issues[0], Mapping):
        return None
    where = issues[0].get("path")
    if isinstance(where, str):
        parts = [part for part in re.split(r"[./]", where) if part]
    elif isinstance(where, list):
        parts = [part for part in where if isinstance(part, str) and part]
    else:
        return None
    return parts[-1] if parts else None


def _droppable(
    exc: LayersAPIError, query: Mapping[str, Any], optional: tuple[str, ...]
) -> tuple[str, ...]:
    """Which optional parameters to retry the first page without (``()``: raise instead)."""
    if exc.status != 422 or exc.code != "VALIDATION":
        return ()
    present = tuple(name for name in optional if name in query)
    if not present:
        return ()
    named = _issue_param(exc.details)
    if named in present:
        return (named,)
    if named and named in query:
        return ()  # the API refused a parameter the caller needs: dropping others won't help
    return present


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds: an integer, or an HTTP date (RFC 9110 10.2.3)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def new_idempotency_key() -> str:
    return str(uuid.uuid4())


def get_client(**overrides: Any) -> LayersClient:
    """Build a client from settings at call time (never at import).

    The rate tier is ``LAYERS_API_TIER`` (empty: ``/whoami`` decides); an invalid value is
    ``ImproperlyConfigured`` naming the variable. Overrides (``tier=`` included) win. The
    pacer is the key's shared budget that ``LAYERS_RATE_BUDGET`` names (``budget``), or the
    client's own ``RatePacer`` for ``local`` and ``unlimited``; ``pacer=`` overrides it.

    The configured key is read inside the call, never kept in a local: a traceback through
    this frame (a wrong option, say) shows its locals on error pages and in mailed reports.
    """
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    options: dict[str, Any] = {
        "base_url": settings.LAYERS_API_BASE_URL,
        "connect_timeout": settings.LAYERS_API_CONNECT_TIMEOUT,
        "read_timeout": settings.LAYERS_API_READ_TIMEOUT,
        "max_attempts": settings.LAYERS_API_MAX_ATTEMPTS,
        "backoff_base": settings.LAYERS_API_BACKOFF_BASE,
    }
    if "tier" not in overrides:
        try:
            options["tier"] = configured_tier(
                getattr(settings, "LAYERS_API_TIER", ""), name="LAYERS_API_TIER"
            )
        except ValueError as exc:
            raise ImproperlyConfigured(str(exc)) from None
    options.update(overrides)
    if "pacer" not in options:
        # The shared budget (LAYERS_RATE_BUDGET), named by the key's hash; none when unlimited.
        try:
            tier = configured_tier(options.get("tier"))
        except ValueError:
            tier = None  # LayersClient refuses it below, as it always did
        try:
            pacer = pacer_from_settings(
                settings,
                key_id(options.get("api_key", settings.LAYERS_API_KEY)),
                tier,
            )
        except ValueError as exc:
            raise ImproperlyConfigured(str(exc)) from None
        if pacer is not None:
            options["pacer"] = pacer
    if "api_key" in options:
        return LayersClient(**options)
    return LayersClient(api_key=settings.LAYERS_API_KEY, **options)
