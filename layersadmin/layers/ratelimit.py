"""Client-side pacing so a sync spends the rate budget without being throttled.

The API keeps one token bucket per key and endpoint class (REFERENCE 5): read-light for GET,
write-light for PATCH, DELETE and synchronous POST. We keep a mirror of each bucket: its size
comes from the tier in ``/whoami`` (or ``X-RateLimit-Limit``), it refills at limit/60 tokens a
second, and every response's ``X-RateLimit-Remaining`` lowers our count to what the server
says is left (other processes may share the key). A request waits for a whole token, so a
full sync at the standard tier runs at the budget's pace instead of into 429s.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping

# Requests per minute per endpoint class (REFERENCE 5). Unknown tiers fall back to headers.
TIER_LIMITS: dict[str, dict[str, int]] = {
    "standard": {"read-light": 120, "write-light": 60},
    "pilot": {"read-light": 1200, "write-light": 600},
    "partner": {"read-light": 6000, "write-light": 3000},
}
# A limit at or above this is treated as "no limit" (the sandbox's benchmark tier).
UNLIMITED = 1_000_000


def endpoint_class(method: str) -> str:
    return "read-light" if method.upper() in {"GET", "HEAD"} else "write-light"


class _Bucket:
    def __init__(self, per_minute: float, now: float) -> None:
        self.capacity = per_minute
        self.rate = per_minute / 60.0
        self.tokens = per_minute
        self.updated = now

    def refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now


class RatePacer:
    """Per-class token buckets; ``acquire`` blocks until a request may go."""

    def __init__(
        self,
        limits: Mapping[str, float] | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._buckets: dict[str, _Bucket] = {}
        self.waited = 0.0
        for cls, per_minute in (limits or {}).items():
            self.set_limit(cls, per_minute)

    def set_tier(self, tier: str) -> None:
        for cls, per_minute in TIER_LIMITS.get(tier, {}).items():
            self.set_limit(cls, per_minute)

    def set_limit(self, cls: str, per_minute: float) -> None:
        with self._lock:
            if not per_minute or per_minute >= UNLIMITED:
                self._buckets.pop(cls, None)
                return
            bucket = self._buckets.get(cls)
            if bucket is None:
                self._buckets[cls] = _Bucket(per_minute, self._clock())
            elif bucket.capacity != per_minute:
                bucket.capacity = per_minute
                bucket.rate = per_minute / 60.0
                bucket.tokens = min(bucket.tokens, per_minute)

    def acquire(self, cls: str) -> float:
        """Take one token of ``cls``, sleeping first if none is left. Returns the wait."""
        with self._lock:
            bucket = self._buckets.get(cls)
            if bucket is None:
                return 0.0
            now = self._clock()
            bucket.refill(now)
            wait = 0.0 if bucket.tokens >= 1 else (1 - bucket.tokens) / bucket.rate
            # Reserve the token now so concurrent callers queue behind each other.
            bucket.tokens -= 1
        if wait > 0:
            self._sleep(wait)
            self.waited += wait
        return wait

    def observe(self, cls: str, headers: Mapping[str, str]) -> None:
        """Align our bucket with the server's ``X-RateLimit-Limit`` / ``-Remaining``."""
        limit = _int_header(headers, "X-RateLimit-Limit")
        if limit is not None:
            self.set_limit(cls, limit)
        remaining = _int_header(headers, "X-RateLimit-Remaining")
        if remaining is None:
            return
        with self._lock:
            bucket = self._buckets.get(cls)
            if bucket is not None:
                bucket.refill(self._clock())
                bucket.tokens = min(bucket.tokens, float(remaining))


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None
