"""RatePacer: limits from the tier only, never more than the limit in any 60 s window (the
opening burst included), a steady rate of at least 90 % of the limit, thread safety, max_wait.

Time is simulated: a fake clock that the fake sleep moves forward.
"""

from __future__ import annotations

import random
import threading

import pytest

from layersadmin.layers.ratelimit import (
    TIER_LIMITS,
    WINDOW,
    RatePacer,
    WouldWait,
    configured_tier,
)


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def pacer(self, tier: str | None = "standard", **kwargs) -> RatePacer:
        return RatePacer(tier, clock=self.clock, sleep=self.sleep, **kwargs)


def most_in_any_window(times: list[float], window: float = WINDOW) -> int:
    """The most releases in any closed window [t, t + window] (sliding, two pointers): the
    busiest window can always be slid to start at a release."""
    times = sorted(times)
    best, j = 0, 0
    for i, start in enumerate(times):
        while j < len(times) and times[j] <= start + window:
            j += 1
        best = max(best, j - i)
    return best


def busy_run(fake: FakeTime, pacer: RatePacer, cls: str, seconds: float, seed: int) -> list:
    """Several callers hammering the pacer for ``seconds``: requests arriving in bunches
    faster than the limit allows, and now and then an idle spell long enough for the burst to
    come back (the windows right after one are where a bucket can overshoot)."""
    rng = random.Random(seed)
    gap = WINDOW / pacer.limit(cls)  # arrivals come at about twice the limit's pace
    released = []
    next_idle = rng.uniform(20, 90)
    while fake.now < seconds:
        if fake.now >= next_idle:
            fake.now += rng.uniform(2, 70)
            next_idle = fake.now + rng.uniform(20, 90)
        fake.now += rng.uniform(0, gap)
        for _ in range(rng.choice((1, 1, 2, 3, 5))):
            pacer.acquire(cls)
            released.append(fake.now)
    return released


@pytest.mark.parametrize("tier", sorted(TIER_LIMITS))
@pytest.mark.parametrize("cls", ["read-light", "write-light"])
def test_never_more_than_the_limit_in_any_60s_window(tier, cls):
    fake = FakeTime()
    pacer = fake.pacer(tier)
    limit = TIER_LIMITS[tier][cls]
    released = busy_run(fake, pacer, cls, seconds=6 * 60, seed=len(tier) * 31 + len(cls))
    assert len(released) > 3 * limit  # a busy run: several minutes' worth of budget
    assert most_in_any_window(released) <= limit
    # The opening minute, burst included, is within the limit too.
    assert sum(1 for t in released if t <= WINDOW) <= limit


@pytest.mark.parametrize("tier", sorted(TIER_LIMITS))
@pytest.mark.parametrize("cls", ["read-light", "write-light"])
def test_steady_rate_reaches_at_least_90_percent_of_the_limit(tier, cls):
    fake = FakeTime()
    pacer = fake.pacer(tier)
    limit = TIER_LIMITS[tier][cls]
    released = []
    while fake.now < 5 * WINDOW:  # one caller that always wants to go
        pacer.acquire(cls)
        released.append(fake.now)
    # Every minute after the first one (burst spent) still carries >= 90 % of the limit.
    for minute in range(1, 4):
        start = minute * WINDOW
        count = sum(1 for t in released if start <= t < start + WINDOW)
        assert count >= 0.9 * limit, (minute, count, limit)
    assert most_in_any_window(released) <= limit


def test_the_opening_burst_is_small_and_the_pace_even():
    fake = FakeTime()
    pacer = fake.pacer("standard")
    waits = [pacer.acquire("read-light") for _ in range(10)]
    assert waits[:6] == [0.0] * 6  # 5 % of 120
    assert waits[6:] == [pytest.approx(60 / 114)] * 4
    waits = [pacer.acquire("write-light") for _ in range(5)]
    assert waits == [0.0, 0.0, 0.0, pytest.approx(60 / 57), pytest.approx(60 / 57)]


def test_threads_sharing_a_pacer_queue_behind_each_other():
    """Reservations are atomic: with time frozen, the waits handed out to 8 threads are
    exactly the schedule one caller would get (no slot given twice)."""
    slept: list[float] = []
    lock = threading.Lock()

    def sleep(seconds):
        with lock:
            slept.append(seconds)

    pacer = RatePacer("standard", clock=lambda: 100.0, sleep=sleep)
    waits: list[float] = []

    def work():
        mine = [pacer.acquire("read-light") for _ in range(50)]
        with lock:
            waits.extend(mine)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    interval = 60 / 114
    expected = [0.0] * 6 + [k * interval for k in range(1, 400 - 6 + 1)]
    assert sorted(waits) == pytest.approx(expected)
    # Released at 100 + wait: any 60 s window holds at most 120.
    assert most_in_any_window([100 + w for w in waits]) <= 120


def test_tier_names():
    assert RatePacer().limit("read-light") == 120  # missing: standard
    assert RatePacer("gold").limit("write-light") == 60  # unknown: standard
    assert RatePacer("pilot").limit("read-light") == 1200
    assert RatePacer("partner").limit("write-light") == 3000
    assert RatePacer("unlimited").limit("read-light") is None
    pacer = RatePacer("unlimited")
    pacer.set_tier("standard")
    assert pacer.limit("read-light") == 120
    assert configured_tier("") is None and configured_tier(None) is None
    assert configured_tier(" Pilot ") == "pilot"
    with pytest.raises(ValueError, match="LAYERS_API_TIER"):
        configured_tier("scale", name="LAYERS_API_TIER")


def test_max_wait_refuses_without_reserving_or_sleeping():
    fake = FakeTime()
    pacer = fake.pacer("standard")
    for _ in range(6):
        pacer.acquire("read-light", max_wait=0)  # the burst: no wait
    with pytest.raises(WouldWait) as info:
        pacer.acquire("read-light", max_wait=0.1)
    assert info.value.seconds == pytest.approx(60 / 114)
    assert fake.slept == []
    # Nothing was reserved: the next caller gets the very same slot.
    assert pacer.acquire("read-light") == pytest.approx(60 / 114)


def test_hold_after_a_429_delays_the_class_only():
    fake = FakeTime()
    pacer = fake.pacer("standard")
    pacer.hold("read-light", 30)
    assert pacer.acquire("read-light") == pytest.approx(30)
    assert pacer.acquire("write-light") == 0.0


def test_a_limit_going_up_keeps_the_guarantee_and_one_going_down_waits_a_window():
    fake = FakeTime()
    pacer = fake.pacer("standard")
    released = []
    for _ in range(50):
        pacer.acquire("read-light")
        released.append(fake.now)
    pacer.set_tier("pilot")  # e.g. /whoami answered after the default (standard) paced
    for _ in range(3000):
        pacer.acquire("read-light")
        released.append(fake.now)
    assert most_in_any_window(released) <= 1200
    last = fake.now
    pacer.set_tier("standard")
    pacer.acquire("read-light")
    assert fake.now - last > WINDOW
