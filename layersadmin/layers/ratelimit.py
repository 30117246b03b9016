"""Client-side pacing: never more requests than the tier allows in any 60-second window.

**Where the limits come from.** Only from the key's rate tier (REFERENCE 5: requests per minute
per endpoint class, read-light = GET, write-light = PATCH, DELETE and synchronous POST):

    standard 120 / 60, pilot 1,200 / 600, partner 6,000 / 3,000 (read-light / write-light)

The tier is the one configured (``LAYERS_API_TIER`` / ``LayersClient(tier=...)``) or, failing
that, the one ``/whoami`` reports; an unknown or missing name paces as ``standard``. The
special configured value ``unlimited`` turns client pacing off (the local sandbox and the
benchmark only). No response header is read for pacing: the docs name only
``X-RateLimit-Endpoint-Class`` and ``Retry-After``, not the bucket state headers.

**The guarantee.** For each endpoint class with limit ``L`` per minute, the moments at which
``acquire`` releases requests hold at most ``L`` requests in any 60-second window (both ends
included), from the opening burst on, however many threads share the pacer.

**How.** One O(1) bucket per class in its GCRA form (a "virtual scheduling" token bucket): a
burst ``B = max(1, floor(L * BURST_FRACTION))`` (capped at ``L - 1``), then one request every
``T = 60 / (L - B)`` seconds, so the steady rate is ``(L - B) / 60`` per second (95 % of the
limit). The state is one time, ``tat``; with tolerance ``tau = (B - 1) * T`` a request arriving
at ``now`` is released at ``s = max(now, tat - tau)`` and sets ``tat = max(tat, s) + T``.
Reservations happen under a lock, so concurrent callers queue behind each other.

*Proof sketch.* ``now`` and ``tat`` never decrease, so release times never decrease. After
request ``k``: ``tat_k >= tat_(k-1) + T`` and ``tat_k >= s_k + T``; and ``s_k >= tat_(k-1) - tau``.
So for ``i < j``: ``s_j >= tat_(j-1) - tau >= tat_i + (j-1-i)T - tau >= s_i + (j-i)T - tau``,
i.e. ``s_j - s_i >= (n - B) T`` for the ``n = j - i + 1`` requests ``i..j``. If they all fall
in a 60 s window, ``(n - B) T <= 60``, hence ``n <= B + 60/T = B + (L - B) = L``. Holding the
bucket after a 429 (``hold``) only moves ``tat`` later, which keeps both inequalities. A limit
that goes up keeps ``tat`` (the inequalities hold with the new, smaller ``T``); one that goes
down (never in practice: the default is already the lowest tier) waits a whole window first.

Against a server that meters with a token bucket of capacity ``L`` refilled at ``L/60`` per
second (REFERENCE 5's "buckets"), this schedule is accepted even when arrivals are jittered by
up to 60 s. What it cannot see: other processes or clients using the same key, each of which
paces on its own. ``budget.SharedPacer`` (what ``get_client()`` builds unless
``LAYERS_RATE_BUDGET=local``) is the same pacer drawing from one bucket per key and class that
all processes share, in Redis or the database; ``RatePacer`` is its fallback while that store
cannot be reached, and what a ``LayersClient`` built without ``pacer=`` uses.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Mapping

logger = logging.getLogger(__name__)

# Requests per minute per endpoint class (REFERENCE 5).
TIER_LIMITS: dict[str, dict[str, int]] = {
    "standard": {"read-light": 120, "write-light": 60},
    "pilot": {"read-light": 1200, "write-light": 600},
    "partner": {"read-light": 6000, "write-light": 3000},
}
DEFAULT_TIER = "standard"  # what an unknown or missing tier paces as
UNLIMITED = "unlimited"  # configured only: no client-side pacing (sandbox, benchmark)
TIERS = (*TIER_LIMITS, UNLIMITED)  # the values LAYERS_API_TIER / tier= accept
WINDOW = 60.0  # seconds: the limits are per minute
BURST_FRACTION = 0.05  # the opening burst, as a share of the per-minute limit


def endpoint_class(method: str) -> str:
    return "read-light" if method.upper() in {"GET", "HEAD"} else "write-light"


def configured_tier(value: str | None, *, name: str = "tier") -> str | None:
    """A configured tier name, normalised; ``None`` for empty (learn it from ``/whoami``).

    Raises ``ValueError`` naming ``name`` for anything but standard|pilot|partner|unlimited.
    """
    if value is None:
        return None
    tier = str(value).strip().lower()
    if not tier:
        return None
    if tier not in TIERS:
        raise ValueError(f"{name} must be one of {', '.join(TIERS)} (or empty), not {value!r}")
    return tier


class WouldWait(Exception):  # noqa: N818 - a signal, not an error
    """``acquire(max_wait=...)`` would have to wait ``seconds`` (more than allowed)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        super().__init__(f"would wait {seconds:.2f}s")


class _Bucket:
    """One class's schedule (GCRA): burst, interval, tolerance and the one moving time."""

    __slots__ = ("burst", "interval", "limit", "tat", "tolerance")

    def __init__(self, per_minute: float, tat: float) -> None:
        if per_minute < 2:
            raise ValueError("a paced limit must be at least 2 requests per minute")
        self.limit = per_minute
        self.burst = max(1, min(math.floor(per_minute * BURST_FRACTION), math.ceil(per_minute) - 1))
        self.interval = WINDOW / (per_minute - self.burst)
        self.tolerance = (self.burst - 1) * self.interval
        self.tat = tat


class RatePacer:
    """Per-class schedules; ``acquire`` blocks until a request may go (see module docstring)."""

    def __init__(
        self,
        tier: str | None = None,
        *,
        limits: Mapping[str, float | None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._buckets: dict[str, _Bucket] = {}
        self.tier = ""
        self.waited = 0.0  # seconds callers were made to wait, in total
        self.responses: dict[str, int] = {}  # answers per class, as the API names it
        self.set_tier(tier)
        for cls, per_minute in (limits or {}).items():
            self.set_limit(cls, per_minute)

    def set_tier(self, tier: str | None) -> None:
        """Pace at ``tier``; ``unlimited`` stops pacing; unknown or missing is ``standard``."""
        name = (tier or "").strip().lower()
        if name == UNLIMITED:
            self.tier = UNLIMITED
            for cls in list(self._buckets):
                self.set_limit(cls, None)
            return
        if name not in TIER_LIMITS:
            if name:
                logger.warning("unknown Layers rate tier %r: pacing as %s", name[:32], DEFAULT_TIER)
            name = DEFAULT_TIER
        self.tier = name
        for cls, per_minute in TIER_LIMITS[name].items():
            self.set_limit(cls, per_minute)

    def set_limit(self, cls: str, per_minute: float | None) -> None:
        """Pace ``cls`` at ``per_minute``; ``None`` stops pacing it."""
        with self._lock:
            old = self._buckets.get(cls)
            if per_minute is None:
                self._buckets.pop(cls, None)
                return
            if old is not None and old.limit == per_minute:
                return
            now = self._clock()
            if old is None:
                tat = now  # the opening burst is allowed: the guarantee covers it
                new = _Bucket(per_minute, tat)
            elif per_minute > old.limit:
                new = _Bucket(per_minute, old.tat)
            else:
                # Down: what went out under the higher limit may already fill a window; the
                # new schedule starts one window after the last request already scheduled.
                new = _Bucket(per_minute, 0.0)
                new.tat = max(old.tat, now) + WINDOW + new.interval + new.tolerance
            self._buckets[cls] = new

    def limit(self, cls: str) -> float | None:
        bucket = self._buckets.get(cls)
        return None if bucket is None else bucket.limit

    def acquire(self, cls: str, *, max_wait: float | None = None) -> float:
        """Reserve the next slot of ``cls`` and sleep until it; return the wait.

        With ``max_wait``, a slot further away than that is not reserved: ``WouldWait`` is
        raised at once (nothing slept, nothing spent).
        """
        with self._lock:
            bucket = self._buckets.get(cls)
            if bucket is None:
                return 0.0
            now = self._clock()
            release = max(now, bucket.tat - bucket.tolerance)
            wait = release - now
            if max_wait is not None and wait > max_wait:
                raise WouldWait(wait)
            bucket.tat = max(bucket.tat, release) + bucket.interval
            self.waited += wait
        if wait > 0:
            self._sleep(wait)
        return wait

    def hold(self, cls: str, seconds: float) -> None:
        """Release nothing of ``cls`` for ``seconds`` (the API said so: a 429)."""
        with self._lock:
            bucket = self._buckets.get(cls)
            if bucket is not None and seconds > 0:
                bucket.tat = max(bucket.tat, self._clock() + seconds + bucket.tolerance)

    def observe(self, cls: str, headers: Mapping[str, str]) -> None:
        """Count an answer per class (``X-RateLimit-Endpoint-Class`` when sent). Never paces:
        no bucket-state header is documented (REFERENCE 5, 10)."""
        name = str(headers.get("X-RateLimit-Endpoint-Class") or cls)[:32]
        with self._lock:
            self.responses[name] = self.responses.get(name, 0) + 1
