"""One rate budget per API key, shared by every process that uses the key.

``ratelimit.RatePacer`` paces one process. Ten sync workers (or a sync and the web processes)
on one key would each pace at the full limit, so together they overran it. Here every process
draws from **one bucket per (API key, endpoint class)** kept in a store they all reach:

* ``RedisBudget`` (this module): a key in Redis, taken with one atomic Lua script.
* ``DatabaseBudget`` (``layersadmin.budget_db``, outside this package: the client never touches
  the ORM): a row in ``layersadmin_ratebudget``, taken in batches.

``SharedPacer`` is a ``RatePacer`` whose ``acquire`` and ``hold`` go to such a budget, so
``LayersClient`` is unchanged; ``get_client()`` builds it from ``LAYERS_RATE_BUDGET``.

**Sizes come from the tier only** (REFERENCE 5, through ``RatePacer.set_tier``), never from a
response header. The key itself is never stored: buckets are named by ``key_id(key)``, the first
16 hex digits of its SHA-256, which is also all that reaches logs, errors and reprs.

**The schedule** (``Schedule``, GCRA like ``ratelimit``, in whole microseconds). For a limit
``L`` per window ``W`` (60 s): a burst ``B = max(3, floor(5 % of L))`` (at most ``L - 1``), an
interval ``T = (W + E) / (L - B)`` and a tolerance ``tau = (B - 1) T``, where ``E`` is the
backend's *grace*: how late after its moment a token may still be spent (below). The bucket's
one value is ``tat``; the store's clock says ``now`` (Redis ``TIME``; PostgreSQL's
``clock_timestamp()``; the host's clock for SQLite, which lives on one host), so processes on
hosts whose clocks disagree still share one time line. A take of ``n`` tokens:

    a = max(tat, now);  x = a - tol;  token k (0 <= k < n) has the moment r_k = max(now, x + kT)
    tat := a + nT                                      (tol = tau for a person, 0 for a sync)

and is made only if ``r_0 <= now + ahead`` (below); ``n`` is cut so that ``r_(n-1)`` fits too.
The take is atomic (one Lua script; a compare-and-set UPDATE on the row), so no two takes see
the same ``tat`` and no token is handed out twice. A process spends token ``k`` at a moment
``u_k`` with ``r_k <= u_k <= r_k + E``: it maps ``r_k`` onto its own monotonic clock from the
store's ``now``, which was read somewhere between the ends of the round trip, so it places the
start after the reply and the end before the request (never early, never late); a token it
could not spend in time (a stalled process) is void and it takes another. ``hold(seconds)``,
after a 429, sets ``tat := max(tat, now + seconds + tau)``.

**The guarantee: never more than ``L`` requests of a class in any ``W``-second window, from all
processes together.** *Proof sketch.* Number the tokens in the order of the takes (a take of
``n`` is ``n`` takes of one at the same ``now``: ``r_k`` above is exactly that). For each token
``m``: ``r_m >= tat_(m-1) - tau`` (``tol <= tau`` and ``a >= tat``), ``tat_m >= r_m + T``
(``r_m <= a`` since ``tol >= 0``), and ``tat_m >= tat_(m-1) + T``. Hence for ``i < j``:
``r_j >= tat_(j-1) - tau >= tat_i + (j-1-i)T - tau >= r_i + (j-i)T - tau``. Take any closed
window ``[t, t + W]``, and ``i``, ``j`` the first and the last token (in take order) spent in
it: ``r_j <= u_j <= t + W`` and ``r_i >= u_i - E >= t - E``, so ``r_j - r_i <= W + E``; with the
above, ``(j-i)T <= W + E + tau``, i.e. the window holds at most
``j - i + 1 <= 1 + (W + E)/T + B - 1 = L`` tokens. Nothing here needs the takes' ``now`` to
grow (a take that waited for a lock may carry an older one), only that every take sees the
latest ``tat``. ``hold`` only moves ``tat`` later. A missing bucket (first use, a Redis key that
expired once ``tat`` had passed) is ``tat <= now``, the same state. Assumed: the store's clock
does not step forward (NTP slews it), every process paces one key at the same tier (configure
``LAYERS_API_TIER``; a process that has not asked ``/whoami`` yet paces as standard, which is
slower), and a Redis that keeps its keys (no eviction of these small, expiring keys; no
``FLUSHDB`` -- ``cache.clear()`` on a Redis cache in the same database is one).

**People keep headroom.** A request made for a person (``acquire(max_wait=...)``: overrides, a
person's refresh, the customer check) uses ``tol = tau``: all of the bucket, and it may book a
moment in the future, up to its ``max_wait``. A sync's request (``max_wait=None``) uses
``tol = 0``: it goes only once the bucket would be full again, i.e. it always leaves the
**reserve of ``B - 1`` tokens** (at least 2: standard 5 read-light / 2 write-light, pilot
59 / 29, partner 299 / 149) to people, and it books at most ``h = min(2 s, (B - 2) T)``
ahead (``sync_ahead``: 2 s at every tier but standard write-light, where it is ``T``, about
1.1 s); when its moment is further off it sleeps and asks again. So right after any sync take
``tat <= now + h + T``, and a person arriving then may go at
``tat - tau <= now + h - (B - 2) T <= now``: **a person never waits behind a sync**, only
behind other people (people who come together queue at ``T``, at most 1.1 s on standard
write-light, while syncs wait; a person's wait is bounded by ``max_wait`` anyway). The sync
loses nothing when nobody else is there: going at ``tat`` it keeps the steady pace ``1/T``.

**What one call costs.** Redis: one round trip (``EVALSHA``) per request; a sync that has to
wait asks once more each time its next moment comes within ``h``. Database: a sync process
takes tokens in batches (as many as it spends in ``grace`` at its pace, growing at most
twofold per batch, up to ``DatabaseBudget.batch_max``) with one SELECT and one short
single-row UPDATE (its own transaction) per batch, and spends them locally; a person's
request takes one token (one SELECT + UPDATE). ``unlimited`` consults nothing.

**When the store cannot be reached** the process paces alone (a ``RatePacer`` at the same
tier) and logs a warning at most once a minute; the guarantee is then per process, as before,
until the store answers again.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from layersadmin.layers.ratelimit import (
    BURST_FRACTION,
    UNLIMITED,
    WINDOW,
    RatePacer,
    WouldWait,
)

logger = logging.getLogger(__name__)

BUDGET_KINDS = ("auto", "redis", "database", "local")  # LAYERS_RATE_BUDGET
MIN_BURST = 3  # so that the reserve (B - 1) is at least 2 tokens
SYNC_AHEAD = 2.0  # seconds a sync may book ahead: the most a person waits behind a sync
SYNC_JITTER = 0.02  # seconds of jitter on a sync's retry, so waiting workers do not stampede
WARN_EVERY = 60.0  # seconds between two "store unreachable" warnings
DOWN_PAUSE = 5.0  # seconds a process paces alone after the store failed, before asking again
REDIS_PREFIX = "layersadmin:rate:"


def key_id(api_key: str) -> str:
    """What names a key's buckets: the first 16 hex digits of its SHA-256 (never the key)."""
    return hashlib.sha256((api_key or "").encode()).hexdigest()[:16]


class BudgetUnavailable(Exception):  # noqa: N818 - a signal: pace alone for now
    """The shared store could not be reached or used (the message names no key, no URL)."""


@dataclass(frozen=True)
class Schedule:
    """One class's shared schedule, in microseconds (module docstring)."""

    limit: int
    burst: int
    interval_us: int
    tolerance_us: int

    @classmethod
    def of(cls, limit: float, *, window: float = WINDOW, grace: float = 0.0) -> Schedule:
        limit = math.floor(limit)
        if limit < MIN_BURST + 1:
            raise ValueError(f"a shared limit must be at least {MIN_BURST + 1} per window")
        burst = min(max(MIN_BURST, math.floor(limit * BURST_FRACTION)), limit - 1)
        # Rounded up: a longer interval only makes the guarantee stricter.
        interval_us = math.ceil((window + grace) * 1_000_000 / (limit - burst))
        return cls(limit, burst, interval_us, (burst - 1) * interval_us)

    @property
    def reserve(self) -> int:
        """Tokens a sync always leaves to people."""
        return self.burst - 1

    @property
    def interval(self) -> float:
        return self.interval_us / 1_000_000


@dataclass(frozen=True)
class Grant:
    """A token: spend it no earlier than ``start`` and no later than ``deadline`` (the
    budget's local clock)."""

    start: float
    deadline: float


@dataclass(frozen=True)
class Refusal:
    """No token within reach: a person's call would wait ``wait`` s; a sync asks again then."""

    wait: float


class SharedBudget:
    """The backend-neutral part: schedules, the take's arithmetic, the local token pool.

    A backend implements ``_reserve`` (one atomic take in its store) and ``_hold``.
    """

    kind = "shared"
    grace = 0.5  # E: seconds a token stays spendable after its moment
    batch_max = 1  # tokens a sync takes at once, at most

    def __init__(
        self,
        key: str,
        *,
        window: float = WINDOW,
        grace: float | None = None,
        ahead: float = SYNC_AHEAD,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``key``: the key's ``key_id`` (never the key). ``window``, ``grace`` and
        ``ahead`` other than the defaults are for tests that scale time down."""
        self.key = key
        self.window = window
        if grace is not None:
            self.grace = grace
        self.ahead = ahead
        self.clock = clock
        self._lock = threading.Lock()  # pools and counters; never held across I/O
        self._refill_locks: dict[str, threading.Lock] = {}
        self._pools: dict[str, deque[Grant]] = {}
        self._batch: dict[str, int] = {}  # the last batch's size, per class
        self._refilled: dict[str, tuple[float, int]] = {}  # (when, tokens spent since)
        self._schedules: dict[float, Schedule] = {}
        self._down_until = 0.0  # the store failed: do not ask it again before this
        self.takes = 0  # store writes that handed out tokens
        self.refusals = 0  # store reads that handed out none
        self.expired = 0  # pooled tokens that expired unspent

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.key}>"

    def schedule(self, limit: float) -> Schedule:
        found = self._schedules.get(limit)
        if found is None:
            found = Schedule.of(limit, window=self.window, grace=self.grace)
            self._schedules[limit] = found
        return found

    # --- taking ---------------------------------------------------------------------------------

    def take(
        self, cls: str, limit: float, *, interactive: bool, max_wait: float | None = None
    ) -> Grant | Refusal:
        """One token of ``cls``: for a person (``interactive``, within ``max_wait``) or a sync.

        Raises ``BudgetUnavailable`` when the store cannot be used, and for ``DOWN_PAUSE``
        seconds after that without asking it again (a store that is down costs no timeouts).
        """
        if self.clock() < self._down_until:
            raise BudgetUnavailable("unreachable a moment ago")
        try:
            return self._token(cls, self.schedule(limit), interactive, max_wait)
        except BudgetUnavailable:
            self._down_until = self.clock() + DOWN_PAUSE
            raise

    def _token(
        self, cls: str, schedule: Schedule, interactive: bool, max_wait: float | None
    ) -> Grant | Refusal:
        if interactive:
            ahead = max(0.0, max_wait if max_wait is not None else self.window)
            return self._take(cls, schedule, interactive=True, ahead=ahead, want=1)
        grant = self._pop(cls)
        if grant is not None:
            return grant
        with self._refill_lock(cls):
            grant = self._pop(cls)  # another thread may have refilled meanwhile
            if grant is not None:
                return grant
            return self._take(
                cls,
                schedule,
                interactive=False,
                ahead=self.sync_ahead(schedule),
                want=self._next_batch(cls),
            )

    def sync_ahead(self, schedule: Schedule) -> float:
        """How far ahead a sync may book: ``min(ahead, (B - 2) T)`` (module docstring)."""
        return min(self.ahead, (schedule.burst - 2) * schedule.interval)

    def _take(
        self, cls: str, schedule: Schedule, *, interactive: bool, ahead: float, want: int
    ) -> Grant | Refusal:
        tol = schedule.tolerance_us if interactive else 0
        ahead_us = math.floor(ahead * 1_000_000)
        now, x, n, low, high = self._reserve(cls, schedule, tol, ahead_us, want)
        if n < 1:
            with self._lock:
                self.refusals += 1
            wait = (max(now, x) - now) / 1_000_000
            return Refusal(wait if interactive else max(0.0, wait - ahead))
        # The store read ``now`` at some local moment in [low, high]: start late, end early.
        grants = []
        for k in range(n):
            offset = (max(now, x + k * schedule.interval_us) - now) / 1_000_000
            grants.append(Grant(start=high + offset, deadline=low + offset + self.grace))
        with self._lock:
            self.takes += 1
            if not interactive:  # a person takes one token; a sync's batch is pooled
                self._pools.setdefault(cls, deque()).extend(grants[1:])
                self._batch[cls] = n
                self._refilled[cls] = (self.clock(), 1)
        return grants[0]

    def _pop(self, cls: str) -> Grant | None:
        """A pooled token still spendable, dropping (and counting) the expired ones."""
        now = self.clock()
        with self._lock:
            pool = self._pools.get(cls)
            while pool:
                grant = pool.popleft()
                if grant.deadline > now:
                    since, used = self._refilled[cls]
                    self._refilled[cls] = (since, used + 1)
                    return grant
                self.expired += 1
        return None

    def _next_batch(self, cls: str) -> int:
        """As many tokens as this process spent in ``grace`` seconds, going by its pace since
        the last batch (at most twice that batch): tokens it could not spend in time would be
        wasted. 1 for the first batch."""
        with self._lock:
            last = self._batch.get(cls)
            since, used = self._refilled.get(cls, (0.0, 0))
        if last is None or self.batch_max == 1:
            return 1
        rate = used / max(self.clock() - since, 1e-3)
        return max(1, min(self.batch_max, 2 * last, math.floor(rate * self.grace)))

    def _refill_lock(self, cls: str) -> threading.Lock:
        with self._lock:
            return self._refill_locks.setdefault(cls, threading.Lock())

    def hold(self, cls: str, limit: float, seconds: float) -> None:
        """Nothing of ``cls`` goes for ``seconds``, in any process (the API said 429)."""
        schedule = self.schedule(limit)
        with self._lock:
            self._pools.pop(cls, None)
        if seconds > 0 and self.clock() >= self._down_until:
            self._hold(cls, schedule, math.ceil(seconds * 1_000_000) + schedule.tolerance_us)

    def close(self) -> None:
        """Let go of the store's connection (the next take opens it again)."""

    # --- the store ------------------------------------------------------------------------------

    def _reserve(
        self, cls: str, schedule: Schedule, tol_us: int, ahead_us: int, want: int
    ) -> tuple[int, int, int, float, float]:
        """One atomic take: ``(now, x, n, low, high)`` -- the store's now (µs), ``x = a - tol``,
        the tokens handed out (0: none within ``ahead``) and the local clock just before and
        just after the store read its now."""
        raise NotImplementedError

    def _hold(self, cls: str, schedule: Schedule, until_us: int) -> None:
        """``tat := max(tat, now + until_us)``."""
        raise NotImplementedError


def take_arithmetic(
    tat: int | None, now: int, interval: int, tol: int, ahead: int, want: int
) -> tuple[int, int, int]:
    """The take of the module docstring: ``(x, n, new_tat)``; ``n == 0``: nothing handed out.
    (The Lua script below is the same arithmetic.)"""
    a = max(tat or 0, now)
    x = a - tol
    if max(now, x) > now + ahead:
        return x, 0, a
    n = min(want, (now + ahead - x) // interval + 1)
    return x, n, a + n * interval


class MemoryStore:
    """The state a store keeps: ``tat`` per bucket, changed under one lock."""

    def __init__(self) -> None:
        self.tat: dict[str, int] = {}
        self.lock = threading.Lock()


class MemoryBudget(SharedBudget):
    """The budget in memory, on any clock: the reference the stores follow, and what the
    fake-clock tests drive. Several ``MemoryBudget`` given one ``store`` behave like processes
    sharing a store (each with its own pool); nothing is shared between real processes."""

    kind = "memory"

    def __init__(
        self,
        key: str = "memory",
        *,
        store: MemoryStore | None = None,
        batch_max: int = 1,
        **kwargs: Any,
    ) -> None:
        super().__init__(key, **kwargs)
        self.store = store if store is not None else MemoryStore()
        self.batch_max = batch_max

    def _reserve(self, cls, schedule, tol_us, ahead_us, want):
        with self.store.lock:
            moment = self.clock()
            now = math.floor(moment * 1_000_000)
            x, n, new = take_arithmetic(
                self.store.tat.get(cls), now, schedule.interval_us, tol_us, ahead_us, want
            )
            if n:
                self.store.tat[cls] = new
        return now, x, n, moment, moment

    def _hold(self, cls, schedule, until_us):
        with self.store.lock:
            now = math.floor(self.clock() * 1_000_000)
            self.store.tat[cls] = max(self.store.tat.get(cls, 0), now + until_us)


# --- Redis ----------------------------------------------------------------------------------------

# KEYS[1]: the bucket. ARGV: interval, tol, ahead (µs), want. Returns {now, x, n}. The key
# expires a second after tat: by then it means the same as no key (a full bucket).
TAKE_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tol = tonumber(ARGV[2])
local ahead = tonumber(ARGV[3])
local want = tonumber(ARGV[4])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
local a = tat
if a < now then a = now end
local x = a - tol
local first = x
if first < now then first = now end
if first > now + ahead then return {now, x, 0} end
local n = math.floor((now + ahead - x) / interval) + 1
if n > want then n = want end
local new = a + n * interval
local ttl = math.floor((new - now) / 1000) + 1000
redis.call('SET', KEYS[1], string.format('%.0f', new), 'PX', ttl)
return {now, x, n}
"""

# KEYS[1]: the bucket. ARGV[1]: µs from now before which nothing goes. Returns now.
HOLD_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local held = now + tonumber(ARGV[1])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
if held > tat then
  local ttl = math.floor((held - now) / 1000) + 1000
  redis.call('SET', KEYS[1], string.format('%.0f', held), 'PX', ttl)
end
return now
"""


class RedisBudget(SharedBudget):
    """The budget in Redis: key ``<prefix><key_id>:<class>`` holds ``tat`` (µs, Redis's
    clock); each take is one ``EVALSHA`` of ``TAKE_LUA`` (atomic: Redis runs one script at a
    time). Needs Redis 2.6+ (``TIME`` in scripts replicates as effects since 5.0)."""

    kind = "redis"
    grace = 0.5  # the reply's way back and the sleep's overshoot
    batch_max = 1  # one token per call: a take is one round trip anyway

    def __init__(self, url: str, key: str, *, prefix: str = REDIS_PREFIX, **kwargs: Any) -> None:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        super().__init__(key, **kwargs)
        self.prefix = prefix
        self._errors = (redis.RedisError, OSError)
        # Short timeouts and one immediate retry (a stale pooled connection): a Redis that is
        # down must not eat a person's max_wait. Then the process paces alone a while.
        self._redis = redis.Redis.from_url(
            url,
            socket_timeout=1.0,
            socket_connect_timeout=0.5,
            health_check_interval=30,
            retry=Retry(NoBackoff(), 1),
        )
        self._take_script = self._redis.register_script(TAKE_LUA)
        self._hold_script = self._redis.register_script(HOLD_LUA)

    def bucket(self, cls: str) -> str:
        return f"{self.prefix}{self.key}:{cls}"

    def _reserve(self, cls, schedule, tol_us, ahead_us, want):
        low = self.clock()
        try:
            now, x, n = self._take_script(
                keys=[self.bucket(cls)], args=[schedule.interval_us, tol_us, ahead_us, want]
            )
        except self._errors as exc:
            raise BudgetUnavailable(f"Redis: {type(exc).__name__}") from None
        return int(now), int(x), int(n), low, self.clock()

    def _hold(self, cls, schedule, until_us):
        try:
            self._hold_script(keys=[self.bucket(cls)], args=[until_us])
        except self._errors as exc:
            raise BudgetUnavailable(f"Redis: {type(exc).__name__}") from None

    def close(self) -> None:
        self._redis.close()


# --- the pacer the client uses --------------------------------------------------------------------

_last_warning = [0.0]


def _warn_unavailable(budget: SharedBudget, exc: BudgetUnavailable) -> None:
    now = time.monotonic()
    if _last_warning[0] and now - _last_warning[0] < WARN_EVERY:
        return
    _last_warning[0] = now
    logger.warning(
        "shared Layers rate budget (%s, key %s) unavailable (%s): pacing this process alone",
        budget.kind,
        budget.key,
        exc,
    )


class SharedPacer(RatePacer):
    """A ``RatePacer`` whose slots come from a ``SharedBudget`` (module docstring).

    ``acquire(cls, max_wait=None)`` is a sync's request; with ``max_wait`` it is a person's:
    it may book up to ``max_wait`` ahead, else ``WouldWait`` at once (nothing spent).
    Limits and tier handling are ``RatePacer``'s; ``unlimited`` consults no store.
    """

    def __init__(
        self,
        budget: SharedBudget,
        tier: str | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.budget = budget
        # Used only while the store cannot be reached.
        self._fallback = RatePacer(tier, clock=budget.clock, sleep=sleep)
        super().__init__(tier, clock=budget.clock, sleep=sleep)

    def __repr__(self) -> str:
        return f"<SharedPacer {self.tier} {self.budget!r}>"

    def set_limit(self, cls: str, per_minute: float | None) -> None:
        if per_minute is not None:
            Schedule.of(per_minute, window=self.budget.window)  # refuse a limit too small
        super().set_limit(cls, per_minute)
        self._fallback.set_limit(cls, per_minute)

    def acquire(self, cls: str, *, max_wait: float | None = None) -> float:
        limit = self.limit(cls)
        if limit is None:
            return 0.0
        interactive = max_wait is not None
        started = self._clock()
        while True:
            elapsed = self._clock() - started
            left = None if max_wait is None else max(0.0, max_wait - elapsed)
            try:
                answer = self.budget.take(cls, limit, interactive=interactive, max_wait=left)
            except BudgetUnavailable as exc:
                _warn_unavailable(self.budget, exc)
                self._fallback.acquire(cls, max_wait=left)
                return self._done(started)
            if isinstance(answer, Refusal):
                if interactive:
                    raise WouldWait(answer.wait)
                self._sleep(answer.wait + random.uniform(0, SYNC_JITTER))
                continue
            wait = answer.start - self._clock()
            if wait > 0:
                self._sleep(wait)
            if self._clock() <= answer.deadline:
                return self._done(started)
            # Slept past the token's last moment (a stalled process): it is void; take another.

    def _done(self, started: float) -> float:
        waited = self._clock() - started
        with self._lock:
            self.waited += waited
        return waited

    def hold(self, cls: str, seconds: float) -> None:
        self._fallback.hold(cls, seconds)
        limit = self.limit(cls)
        if limit is None or seconds <= 0:
            return
        try:
            self.budget.hold(cls, limit, seconds)
        except BudgetUnavailable as exc:
            _warn_unavailable(self.budget, exc)


# --- from settings --------------------------------------------------------------------------------

_shared: dict[tuple, SharedBudget] = {}
_shared_lock = threading.Lock()


def budget_kind(configured: str, redis_url: str) -> str:
    """``LAYERS_RATE_BUDGET`` resolved: redis, database or local. ``ValueError`` otherwise."""
    kind = (configured or "auto").strip().lower()
    if kind not in BUDGET_KINDS:
        raise ValueError(
            f"LAYERS_RATE_BUDGET must be one of {', '.join(BUDGET_KINDS)}, not {configured!r}"
        )
    if kind == "auto":
        return "redis" if redis_url else "database"
    if kind == "redis" and not redis_url:
        raise ValueError("LAYERS_RATE_BUDGET=redis needs CACHE_URL to point at Redis (redis://)")
    return kind


def shared_budget(kind: str, key: str, *, redis_url: str = "", alias: str = "default"):
    """This process's one budget of ``kind`` for the key ``key`` (a ``key_id``)."""
    if kind == "redis":
        where = redis_url
    elif kind == "database":
        where = alias
    else:
        raise ValueError(f"no shared budget of kind {kind!r}")
    cache_key = (kind, where, key, os.getpid())  # a forked child opens its own connections
    with _shared_lock:
        budget = _shared.get(cache_key)
        if budget is None:
            if kind == "redis":
                budget = RedisBudget(redis_url, key)
            else:
                from layersadmin.budget_db import DatabaseBudget  # the ORM lives outside

                budget = DatabaseBudget(key, alias=alias)
            _shared[cache_key] = budget
        return budget


def close_shared() -> None:
    """Close every shared budget's connection (tests, before the test database goes)."""
    with _shared_lock:
        budgets = list(_shared.values())
    for budget in budgets:
        budget.close()


def pacer_from_settings(settings: Any, key: str, tier: str | None) -> RatePacer | None:
    """The pacer ``get_client()`` gives a client of the key ``key`` (a ``key_id``) at ``tier``:
    ``None`` (the client's own ``RatePacer``) for ``local`` and for ``unlimited``."""
    if tier == UNLIMITED:
        return None
    redis_url = getattr(settings, "LAYERS_RATE_BUDGET_REDIS_URL", "")
    kind = budget_kind(getattr(settings, "LAYERS_RATE_BUDGET", "auto"), redis_url)
    if kind == "local":
        return None
    return SharedPacer(shared_budget(kind, key, redis_url=redis_url), tier)
