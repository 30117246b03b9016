"""Daily organic and paid metrics, and the window sums top-performers ranks on.

Nothing here is stored per day: a series is a handful of parameters and a day's value
is a pure function of (series, day), so 90+ days of history for thousands of creatives
costs no memory and extends itself as the virtual clock moves. Window sums are
computed once per (project, clock position) and cached.

Window rule (documented in README): a window of W days covers the W most recent daily
buckets, today's included. A bucket is stamped at its UTC midnight; it is inside when
``now - W days < stamp <= now``. Today's bucket has only accrued the elapsed fraction
of the day.
"""

from __future__ import annotations

from .util import DAY

_M = 0xFFFFFFFF
_INV = 1.0 / 4294967296.0


def _mix(x: int) -> int:
    x = ((x ^ (x >> 16)) * 0x45D9F3B) & _M
    x = ((x ^ (x >> 16)) * 0x45D9F3B) & _M
    return x ^ (x >> 16)


ORGANIC_PLATFORMS = ("instagram", "tiktok", "youtube")
AD_PLATFORMS = ("meta_ads", "tiktok_ads", "apple_ads")
WATCH_PLATFORMS = ("instagram", "tiktok")  # TikTok and Reels report watch time
WINDOWS = {"7d": 7, "30d": 30, "90d": 90}

_ZERO3 = (0, 0, 0)


class OrganicSeries:
    """Daily views / engagements / watch time of one creative on one platform."""

    __slots__ = (
        "creative",
        "platform",
        "start_day",
        "peak",
        "decay",
        "tail",
        "er",
        "wpv",
        "bump_day",
        "bump_peak",
        "bump_decay",
        "seed",
        "explicit",
    )

    def __init__(self, creative, platform, start_day, peak, decay, tail, er, wpv, bump, seed):
        self.creative = creative
        self.platform = platform
        self.start_day = start_day
        self.peak = peak
        self.decay = decay
        self.tail = tail
        self.er = er
        self.wpv = wpv if platform in WATCH_PLATFORMS else 0
        self.bump_day, self.bump_peak, self.bump_decay = bump if bump else (None, 0.0, 0.0)
        self.seed = seed
        self.explicit: dict[int, tuple[int, int, int]] | None = None

    def day(self, d: int) -> tuple[int, int, int]:
        if self.explicit is not None and d in self.explicit:
            return self.explicit[d]
        k = d - self.start_day
        if k < 0 or (self.peak == 0 and self.tail == 0):
            return _ZERO3
        v = self.peak * self.decay**k
        if self.bump_day is not None and d >= self.bump_day:
            v += self.bump_peak * self.bump_decay ** (d - self.bump_day)
        h = _mix((self.seed + d * 0x9E3779B1) & _M)
        views = int(v * (0.65 + 0.7 * h * _INV)) + self.tail
        eng = int(views * self.er * (0.75 + 0.5 * _mix(h ^ 0x5BD1E995) * _INV))
        return views, eng, views * self.wpv

    def lifetime_views(self) -> int:
        """Rough lifetime estimate, used for the ads-content ``organicPerformance`` snapshot."""
        return int(self.peak / max(0.01, 1 - self.decay)) + self.tail * 60


class PaidSeries:
    """Daily spend (cents) / conversions / revenue (cents) of one ad for one creative."""

    __slots__ = (
        "creative",
        "platform",
        "start_day",
        "end_day",
        "spend_c",
        "cpa_c",
        "roas",
        "seed",
        "campaign_id",
        "ad_id",
        "explicit",
    )

    def __init__(
        self, creative, platform, start_day, end_day, spend_c, cpa_c, roas, seed, campaign_id, ad_id
    ):
        self.creative = creative
        self.platform = platform
        self.start_day = start_day
        self.end_day = end_day  # exclusive
        self.spend_c = spend_c
        self.cpa_c = cpa_c
        self.roas = roas
        self.seed = seed
        self.campaign_id = campaign_id
        self.ad_id = ad_id
        self.explicit: dict[int, tuple[int, int, int]] | None = None

    def day(self, d: int) -> tuple[int, int, int]:
        if self.explicit is not None and d in self.explicit:
            return self.explicit[d]
        if d < self.start_day or d >= self.end_day or self.spend_c == 0:
            return _ZERO3
        h = _mix((self.seed + d * 0x9E3779B1) & _M)
        h2 = _mix(h ^ 0x5BD1E995)
        spend = int(self.spend_c * (0.6 + 0.8 * h * _INV))
        conv = int(spend / self.cpa_c * (0.5 + h2 * _INV))
        revenue = int(spend * self.roas * (0.7 + 0.6 * _mix(h2 ^ 0x27D4EB2D) * _INV))
        return spend, conv, revenue

    def active_at(self, now: int) -> bool:
        return self.start_day * DAY <= now < self.end_day * DAY


class ProjectMetrics:
    """All series of one project plus the per-clock cache of window sums."""

    def __init__(self) -> None:
        self.organic: list[OrganicSeries] = []
        self.paid: list[PaidSeries] = []
        self._cache_key: int | None = None
        self._cache: dict | None = None

    def invalidate(self) -> None:
        self._cache_key = None
        self._cache = None

    def organic_for(self, creative: str) -> list[OrganicSeries]:
        return [s for s in self.organic if s.creative == creative]

    def paid_for(self, creative: str) -> list[PaidSeries]:
        return [s for s in self.paid if s.creative == creative]

    def windows(self, now: int) -> dict:
        """``{window: (organic, paid)}``; each maps creative -> platform -> [a, b, c] sums."""
        if self._cache_key == now and self._cache is not None:
            return self._cache
        today = now // DAY
        frac = (now - today * DAY) / DAY
        firsts = {name: today - w + 1 for name, w in WINDOWS.items()}
        first90, first30, first7 = firsts["90d"], firsts["30d"], firsts["7d"]
        out = {name: ({}, {}) for name in WINDOWS}
        for kind, series_list in ((0, self.organic), (1, self.paid)):
            for s in series_list:
                lo = max(
                    first90,
                    s.start_day if s.explicit is None else min(s.start_day, min(s.explicit)),
                )
                hi = min(today, s.end_day - 1) if kind == 1 and s.explicit is None else today
                s7, s30, s90 = [0, 0, 0], [0, 0, 0], [0, 0, 0]
                day = s.day
                for d in range(lo, hi + 1):
                    a, b, c = day(d)
                    if d == today:
                        a, b, c = int(a * frac), int(b * frac), int(c * frac)
                    s90[0] += a
                    s90[1] += b
                    s90[2] += c
                    if d >= first30:
                        s30[0] += a
                        s30[1] += b
                        s30[2] += c
                        if d >= first7:
                            s7[0] += a
                            s7[1] += b
                            s7[2] += c
                sums = {"7d": s7, "30d": s30, "90d": s90}
                for name in WINDOWS:
                    bucket = out[name][kind].setdefault(s.creative, {})
                    prev = bucket.get(s.platform)
                    if prev is None:
                        bucket[s.platform] = sums[name]
                    else:
                        for i in range(3):
                            prev[i] += sums[name][i]
        self._cache_key = now
        self._cache = out
        return out
