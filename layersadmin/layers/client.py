"""The Layers Partner API client.

Everything about talking to Layers is decided here, once:

* **Auth and identity.** ``Authorization: Bearer <key>`` (the only form the newer docs
  accept) and a ``User-Agent`` naming layersadmin and its version. The key lives only in the
  session's headers: it is never logged, never in an exception, never in a repr.
* **Timeouts.** Explicit connect and read timeouts on every request.
* **Retries.** Connection errors, timeouts, 5xx and 429 are retried with exponential backoff
  and full jitter, a bounded number of attempts. A 429 waits for ``Retry-After`` (seconds or
  an HTTP date, capped). Other 4xx are the caller's bug or a policy gate: never retried.
  Writes (POST, PATCH) carry an ``Idempotency-Key`` made once per logical operation and sent
  unchanged on every attempt, so the API applies a retried write at most once; DELETE
  (archive) is idempotent by nature. A write that never got an answer, or whose retries
  ended on 5xx/429 after an attempt that got none, raises ``LayersOutcomeUnknown``, distinct
  from ``LayersAPIError`` (the API refused).
* **Rate discipline.** Requests are paced per endpoint class (``ratelimit.RatePacer``) from the
  tier ``/whoami`` reports and the rate-limit headers of every response.
* **Paging.** Cursor pagination is hidden behind iterators; cursors and ids are opaque strings,
  passed back verbatim and never parsed. A cursor that repeats itself stops the walk with a
  ``LayersProtocolError`` instead of looping forever.

The client returns plain data (dicts) and never touches the ORM.
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from layersadmin import __version__
from layersadmin.layers.errors import (
    LayersAPIError,
    LayersOutcomeUnknown,
    LayersProtocolError,
    LayersUnavailable,
)
from layersadmin.layers.ratelimit import RatePacer, endpoint_class

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


@dataclass
class ClientStats:
    """What a client did, for SyncRun records and benchmarks."""

    calls: int = 0
    retries: int = 0
    throttled: int = 0
    by_class: dict[str, int] = field(default_factory=dict)

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
        pacer: RatePacer | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
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
        self.pacer = pacer or RatePacer()
        self.stats = ClientStats()
        self._sleep = sleep
        self._stats_lock = threading.Lock()
        self._tier_known = False
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

    # --- the one request path -------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        idempotency_key: str | None = None,
    ) -> ApiResponse:
        """Send one logical request (retrying as the module docstring says); return the JSON."""
        method = method.upper()
        url = f"{self.base_url}/{path.lstrip('/')}"
        headers: dict[str, str] = {}
        if method in {"POST", "PATCH"}:
            headers["Idempotency-Key"] = idempotency_key or str(uuid.uuid4())
        cls = endpoint_class(method)
        is_write = method in WRITE_METHODS
        last_error: Exception | None = None
        unanswered = False  # an attempt of this write got no answer (it may have been applied)

        for attempt in range(1, self.max_attempts + 1):
            if attempt > 1:
                with self._stats_lock:
                    self.stats.retries += 1
            self.pacer.acquire(cls)
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
                    self._sleep(self._backoff(attempt))
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
            if response.status_code == 429:
                with self._stats_lock:
                    self.stats.throttled += 1
            if response.status_code not in RETRYABLE_STATUSES or attempt >= self.max_attempts:
                if response.status_code in RETRYABLE_STATUSES and not is_write:
                    raise LayersUnavailable(
                        error.message,
                        status=error.status,
                        code=error.code,
                        request_id=error.request_id,
                    )
                if response.status_code in RETRYABLE_STATUSES and unanswered:
                    # The last answer (5xx, 429) says nothing about an earlier attempt that got
                    # none: that one may have been applied. Not "refused": outcome unknown.
                    raise LayersOutcomeUnknown(
                        f"{error.message} (HTTP {error.status} {error.code} after an attempt "
                        "that got no answer); the change may or may not have been applied",
                        status=error.status,
                        request_id=error.request_id,
                    )
                raise error
            last_error = error
            delay = self._retry_delay(response, attempt)
            logger.warning(
                "Layers %s %s: HTTP %s %s, retrying in %.2fs (attempt %d/%d) [request %s]",
                method,
                path,
                response.status_code,
                error.code,
                delay,
                attempt,
                self.max_attempts,
                error.request_id,
            )
            self._sleep(delay)
        raise LayersUnavailable(f"gave up: {last_error}")  # pragma: no cover - loop always exits

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

    def _retry_delay(self, response: requests.Response, attempt: int) -> float:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if retry_after is not None:
            return min(self.retry_after_cap, retry_after) + random.uniform(0, 0.1)
        return self._backoff(attempt)

    # --- pagination -----------------------------------------------------------------------------

    def iter_pages(
        self, path: str, params: Mapping[str, Any] | None = None, *, max_pages: int = 100_000
    ) -> Iterator[Page]:
        """Walk a cursor-paginated list; yields pages until ``nextCursor`` is empty."""
        query = dict(params or {})
        seen: set[str] = set()
        for _ in range(max_pages):
            fetched_at = datetime.now(UTC)
            data = self.request("GET", path, params=query)
            items = data.get("items")
            if not isinstance(items, list):
                raise LayersProtocolError(f"GET {path} answered without an items list")
            next_cursor = data.get("nextCursor") or None
            yield Page(
                items=[item for item in items if isinstance(item, dict)],
                next_cursor=next_cursor,
                fetched_at=fetched_at,
            )
            if not next_cursor:
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
        data = self.request("GET", "/whoami")
        tier = data.get("rateLimitTier")
        if isinstance(tier, str):
            self.pacer.set_tier(tier)
            self._tier_known = True
        return data

    def ensure_tier(self) -> None:
        """Learn the rate tier once, so pacing starts before the first 429."""
        if not self._tier_known:
            self.whoami()

    def projects_pages(self, *, status: str | None = None, limit: int = 200) -> Iterator[Page]:
        params: dict[str, Any] = {"limit": limit}
        if status:
            params["status"] = status
        return self.iter_pages("/projects", params)

    def project_get(self, project_id: str) -> dict[str, Any]:
        return self.request("GET", f"/projects/{project_id}")

    def project_create(self, *, data: Mapping[str, Any], idempotency_key: str) -> dict[str, Any]:
        return self.request("POST", "/projects", json=dict(data), idempotency_key=idempotency_key)

    def project_update(
        self, project_id: str, *, data: Mapping[str, Any], idempotency_key: str
    ) -> dict[str, Any]:
        return self.request(
            "PATCH", f"/projects/{project_id}", json=dict(data), idempotency_key=idempotency_key
        )

    def project_archive(self, project_id: str) -> dict[str, Any]:
        return self.request("DELETE", f"/projects/{project_id}")

    def content_pages(
        self, project_id: str, *, since: str | None = None, limit: int = 200, **filters: Any
    ) -> Iterator[Page]:
        params: dict[str, Any] = {"limit": limit, **{k: v for k, v in filters.items() if v}}
        if since:
            params["since"] = since
        return self.iter_pages(f"/projects/{project_id}/content", params)

    def content_get(self, container_id: str) -> dict[str, Any]:
        return self.request("GET", f"/content/{container_id}")

    def ads_content_pages(
        self, project_id: str, *, limit: int = 200, **filters: Any
    ) -> Iterator[Page]:
        params: dict[str, Any] = {"limit": limit, **{k: v for k, v in filters.items() if v}}
        return self.iter_pages(f"/projects/{project_id}/ads-content", params)

    def ads_content_override_set(
        self,
        project_id: str,
        ads_content_id: str,
        *,
        override: str | None,
        note: str | None,
        idempotency_key: str,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"override": override}
        if note:
            body["note"] = note
        return self.request(
            "PATCH",
            f"/projects/{project_id}/ads-content/{ads_content_id}",
            json=body,
            idempotency_key=idempotency_key,
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
        return self.request("GET", f"/projects/{project_id}/top-performers", params=params)

    def audit_log_pages(self, **filters: Any) -> Iterator[Page]:
        return self.iter_pages("/audit-log", {k: v for k, v in filters.items() if v})


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

    The configured key is read inside the call, never kept in a local: a traceback through
    this frame (a wrong option, say) shows its locals on error pages and in mailed reports.
    """
    from django.conf import settings

    options: dict[str, Any] = {
        "base_url": settings.LAYERS_API_BASE_URL,
        "connect_timeout": settings.LAYERS_API_CONNECT_TIMEOUT,
        "read_timeout": settings.LAYERS_API_READ_TIMEOUT,
        "max_attempts": settings.LAYERS_API_MAX_ATTEMPTS,
        "backoff_base": settings.LAYERS_API_BACKOFF_BASE,
    }
    options.update(overrides)
    if "api_key" in options:
        return LayersClient(**options)
    return LayersClient(api_key=settings.LAYERS_API_KEY, **options)
