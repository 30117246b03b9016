"""Per-key token buckets (rate limits) and the fault injector.

Rate limits use real wall-clock time (``time.monotonic``), never the virtual clock.
"""

from __future__ import annotations

import math
import random
import threading
import time

CLASSES = ("read-light", "write-light")
TIERS: dict[str, dict[str, int] | None] = {
    "standard": {"read-light": 120, "write-light": 60},
    "pilot": {"read-light": 1200, "write-light": 600},
    "partner": {"read-light": 6000, "write-light": 3000},
    "unlimited": None,
}
UNLIMITED_HEADER = 1_000_000


class RateLimiter:
    """Token bucket per (api key id, endpoint class): capacity = rpm, refill rpm/60 per s.

    ``overrides`` (tests, benchmarks): ``{"read-light": 3}`` sets that class to 3 rpm;
    ``{"read-light": {"capacity": 3, "refillPerSecond": 1.0}}`` sets both explicitly.
    """

    def __init__(self, tier: str, overrides: dict | None = None) -> None:
        if tier not in TIERS:
            raise ValueError(f"unknown tier {tier!r}; one of {', '.join(TIERS)}")
        self.tier = tier
        base = TIERS[tier]
        self.config: dict[str, tuple[float, float] | None] = {}
        for cls in CLASSES:
            self.config[cls] = None if base is None else (float(base[cls]), base[cls] / 60.0)
        for cls, value in (overrides or {}).items():
            if cls not in CLASSES:
                raise ValueError(f"unknown endpoint class {cls!r}")
            if isinstance(value, dict):
                cap = float(value["capacity"])
                self.config[cls] = (cap, float(value.get("refillPerSecond", cap / 60.0)))
            else:
                self.config[cls] = (float(value), float(value) / 60.0)
        self.buckets: dict[tuple[str, str], list[float]] = {}
        self.lock = threading.Lock()

    def reset(self) -> None:
        with self.lock:
            self.buckets.clear()

    def take(
        self, key_id: str | None, cls: str, consume: bool = True
    ) -> tuple[bool, dict[str, str]]:
        """Try to spend one token; returns (allowed, rate-limit headers)."""
        cfg = self.config[cls]
        headers = {"X-RateLimit-Endpoint-Class": cls}
        if cfg is None:
            headers.update(
                {
                    "X-RateLimit-Limit": str(UNLIMITED_HEADER),
                    "X-RateLimit-Remaining": str(UNLIMITED_HEADER),
                    "X-RateLimit-Reset": "0",
                }
            )
            return True, headers
        cap, rate = cfg
        headers["X-RateLimit-Limit"] = str(int(cap))
        if key_id is None or not consume:
            headers["X-RateLimit-Remaining"] = str(int(cap))
            headers["X-RateLimit-Reset"] = "0"
            return True, headers
        now = time.monotonic()
        with self.lock:
            bucket = self.buckets.get((key_id, cls))
            if bucket is None:
                bucket = self.buckets[(key_id, cls)] = [cap, now]
            tokens = min(cap, bucket[0] + (now - bucket[1]) * rate)
            bucket[1] = now
            allowed = tokens >= 1.0
            if allowed:
                tokens -= 1.0
            bucket[0] = tokens
        headers["X-RateLimit-Remaining"] = str(int(tokens))
        headers["X-RateLimit-Reset"] = str(math.ceil((cap - tokens) / rate)) if rate > 0 else "0"
        if not allowed:
            headers["Retry-After"] = str(
                max(1, math.ceil((1.0 - tokens) / rate)) if rate > 0 else 60
            )
        return allowed, headers


FAULT_KINDS = ("500", "502", "503", "429", "slow", "drop_before", "drop_after")
BURST_LENGTH = 3


class Faults:
    """Seeded fault injector. ``draw()`` is called once per authenticated /v1 request, in
    arrival order. ``next_faults`` is a queue of faults served first, one per request,
    whatever the rate (deterministic tests and demos). ``walk_rescores`` = how many of the
    next ads-content list requests with a cursor rescore a row ahead of that cursor."""

    def __init__(
        self,
        rate: float = 0.0,
        kinds=None,
        seed: int = 7,
        slow_ms: int = 1500,
        walk_rescores: int = 0,
    ) -> None:
        self.lock = threading.Lock()
        self.bursts: dict[str, int] = {}
        self.configure(
            rate=rate, kinds=kinds, seed=seed, slow_ms=slow_ms, walk_rescores=walk_rescores
        )

    def configure(
        self,
        rate: float = 0.0,
        kinds=None,
        seed: int = 7,
        slow_ms: int = 1500,
        next_faults=None,
        walk_rescores: int = 0,
    ) -> None:
        kinds = list(FAULT_KINDS) if not kinds else [str(k) for k in kinds]
        queued = [str(k) for k in (next_faults or [])]
        bad = [k for k in kinds + queued if k not in FAULT_KINDS]
        if bad:
            raise ValueError(
                f"unknown fault kind(s): {', '.join(bad)}; known: {', '.join(FAULT_KINDS)}"
            )
        rate = float(rate)
        if not 0.0 <= rate <= 1.0:
            raise ValueError("rate must be between 0 and 1")
        if isinstance(walk_rescores, bool) or not isinstance(walk_rescores, int):
            raise ValueError("walkRescores must be a whole number")
        if walk_rescores < 0:
            raise ValueError("walkRescores must be >= 0")
        with self.lock:
            self.rate = rate
            self.kinds = kinds
            self.seed = int(seed)
            self.slow_ms = int(slow_ms)
            self.rng = random.Random(self.seed)
            self.bursts.clear()
            self.queue = queued
            self.injected: dict[str, int] = {}
            self.walk_rescores = walk_rescores

    def state(self) -> dict:
        return {
            "rate": self.rate,
            "kinds": list(self.kinds),
            "seed": self.seed,
            "slowMs": self.slow_ms,
            "next": list(self.queue),
            "injected": dict(self.injected),
            "walkRescores": self.walk_rescores,
        }

    def take_walk_rescore(self) -> bool:
        """True (and one fewer left) if the next ads-content cursor request rescores a row."""
        with self.lock:
            if self.walk_rescores <= 0:
                return False
            self.walk_rescores -= 1
            return True

    def draw(self, key_id: str) -> str | None:
        """The fault for this request (or None). A drawn 429 opens a burst for the key."""
        with self.lock:
            left = self.bursts.get(key_id, 0)
            if left > 0:
                self.bursts[key_id] = left - 1
                return "429"
            if self.queue:
                kind = self.queue.pop(0)
            elif self.rate <= 0 or self.rng.random() >= self.rate:
                return None
            else:
                kind = self.rng.choice(self.kinds)
            self.injected[kind] = self.injected.get(kind, 0) + 1
            if kind == "429":
                self.bursts[key_id] = BURST_LENGTH - 1
            return kind
