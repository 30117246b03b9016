"""The shared rate budget (issue 14): one bucket per (API key, endpoint class) that every
process draws from, in Redis or in the database.

* The arithmetic on a fake clock: simulated workers (each with its own pool, as processes
  are) and people never put more than the limit in any 60 s window, at every tier, with
  tokens spent late or never; a person never waits behind a sync; a sync alone keeps pace.
* Redis (the real one at 127.0.0.1:6379, a key prefix per test; skipped only when it is
  unreachable outside CI) and the database (whatever DATABASE_URL the suite runs on): threads
  and processes on one bucket with time scaled down (a 1 s window), never over the limit in
  any window; a person's request goes at once while syncs are busy (real standard tier);
  batches on the database (UPDATEs counted); a 429 held for every process; the key never in
  clear; a store that cannot be reached paces the process alone.
* ``get_client()`` picks the budget from ``LAYERS_RATE_BUDGET``; ``unlimited`` consults none.
"""

from __future__ import annotations

import heapq
import json
import logging
import os
import random
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from layersadmin.layers import LayersBusy, LayersClient, get_client
from layersadmin.layers.budget import (
    SYNC_AHEAD,
    MemoryBudget,
    MemoryStore,
    RedisBudget,
    Refusal,
    Schedule,
    SharedPacer,
    close_shared,
    key_id,
    take_arithmetic,
)
from layersadmin.layers.ratelimit import TIER_LIMITS, WINDOW, RatePacer, WouldWait
from tests.layersadmin.scripted_server import ScriptedServer
from tests.layersadmin.test_ratelimit import most_in_any_window
from tests.layersadmin.test_settings import run_settings

ROOT = Path(__file__).resolve().parents[2]
SECRET = "lp_test_BUDGETBUDGETBUDGET_s3cr3t-canary-value-that-must-never-leak-2222"
REDIS_URL = os.environ.get("LAYERS_BUDGET_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
GRACES = {"redis": RedisBudget.grace, "database": 2.0}  # DatabaseBudget.grace (no ORM import)


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture(autouse=True)
def _close_shared_budgets():
    """A PostgreSQL test database cannot be dropped while a budget's connection is open."""
    yield
    close_shared()


# --- the schedule ---------------------------------------------------------------------------------


@pytest.mark.parametrize("tier", sorted(TIER_LIMITS))
@pytest.mark.parametrize("cls", ["read-light", "write-light"])
@pytest.mark.parametrize("backend", sorted(GRACES))
def test_every_tiers_schedule_keeps_a_reserve_and_the_pace(tier, cls, backend):
    limit = TIER_LIMITS[tier][cls]
    schedule = Schedule.of(limit, grace=GRACES[backend])
    assert schedule.reserve >= 2  # people always keep at least 2 tokens
    # B + (W + E) / T <= L: the window guarantee with late spending (module docstring).
    assert (limit - schedule.burst) * schedule.interval_us >= (WINDOW + GRACES[backend]) * 1e6
    # The steady pace: at least 90 % of the limit per minute.
    assert WINDOW / schedule.interval >= 0.9 * limit
    # How far a sync books ahead leaves a person nothing to wait for: h - (B - 2) T <= 0.
    ahead = min(SYNC_AHEAD, (schedule.burst - 2) * schedule.interval)
    assert ahead - (schedule.burst - 2) * schedule.interval <= 1e-9
    assert 0 < ahead <= SYNC_AHEAD


def test_take_arithmetic():
    # Full bucket (tat in the past): a person may book B tokens at once, a sync only 1.
    schedule = Schedule.of(120)  # B = 6
    t, tau = schedule.interval_us, schedule.tolerance_us
    x, n, new = take_arithmetic(0, 10**9, t, tau, 0, 10)
    assert (n, new) == (6, 10**9 + 6 * t)
    x, n, new = take_arithmetic(0, 10**9, t, 0, 0, 10)
    assert (x, n, new) == (10**9, 1, 10**9 + t)
    # Nothing within reach: nothing handed out, tat unchanged.
    x, n, new = take_arithmetic(10**9 + 5 * t, 10**9, t, 0, t, 4)
    assert n == 0 and new == 10**9 + 5 * t


# --- a fake clock: simulated processes and people -------------------------------------------------


def simulate(
    limit: int,
    *,
    grace: float,
    batch_max: int,
    workers: int = 5,
    minutes: float = 4,
    people_every: float = 8.0,
    late: bool = True,
    seed: int = 0,
):
    """Sync workers (a ``MemoryBudget`` each, one store: processes) taking tokens as fast as
    they can, some spent late (sometimes past the grace: void), and people arriving now and
    then. Returns (moments spent, sync moments, people's waits, people refused)."""
    rng = random.Random(seed)
    clock = FakeClock()
    store = MemoryStore()
    budgets = [
        MemoryBudget(f"w{i}", store=store, batch_max=batch_max, grace=grace, clock=clock)
        for i in range(workers)
    ]
    person = MemoryBudget("web", store=store, grace=grace, clock=clock)
    cls = "read-light"
    start = clock.now
    end = start + minutes * WINDOW
    events = [(start + rng.uniform(0, 1), i, "sync") for i in range(workers)]
    moment = start
    while moment < end:  # one at a time, a few seconds apart
        moment += people_every * rng.uniform(0.5, 1.5)
        events.append((moment, -1, "person"))
    heapq.heapify(events)
    spent, synced, waits, refused = [], [], [], 0
    while events:
        at, worker, kind = heapq.heappop(events)
        if at > end:
            break
        clock.now = at
        if kind == "person":
            answer = person.take(cls, limit, interactive=True, max_wait=3.0)
            if isinstance(answer, Refusal):
                refused += 1
                continue
            go = max(at, answer.start)
            assert go <= answer.deadline
            spent.append(go)
            waits.append(go - at)
            continue
        answer = budgets[worker].take(cls, limit, interactive=False)
        if isinstance(answer, Refusal):
            heapq.heappush(events, (at + answer.wait + rng.uniform(0, 0.02), worker, kind))
            continue
        go = max(at, answer.start)
        if late:  # mostly at once, now and then late, sometimes too late (void)
            go += rng.choice([0.0] * 7 + [rng.uniform(0, grace)] * 2 + [rng.uniform(0, 2 * grace)])
        if go <= answer.deadline:
            spent.append(go)
            synced.append(go)
        heapq.heappush(events, (go, worker, kind))
    return spent, synced, waits, refused


@pytest.mark.parametrize("tier", sorted(TIER_LIMITS))
@pytest.mark.parametrize("backend", sorted(GRACES))
def test_simulated_processes_and_people_never_exceed_the_limit(tier, backend):
    limit = TIER_LIMITS[tier]["read-light"]
    batch_max = 1 if backend == "redis" else 100
    spent, synced, waits, _ = simulate(
        limit, grace=GRACES[backend], batch_max=batch_max, workers=40, seed=len(tier)
    )
    # Busy windows (tokens spent late crowd some of them), and none over the limit.
    assert 0.6 * limit <= most_in_any_window(spent) <= limit
    assert waits and max(waits) <= 2.0


@pytest.mark.parametrize("tier", sorted(TIER_LIMITS))
@pytest.mark.parametrize("backend", sorted(GRACES))
def test_busy_syncs_leave_people_headroom_and_keep_their_pace(tier, backend):
    limit = TIER_LIMITS[tier]["read-light"]
    batch_max = 1 if backend == "redis" else 100
    spent, synced, waits, refused = simulate(
        limit, grace=GRACES[backend], batch_max=batch_max, late=False, seed=7
    )
    # People arriving one at a time never wait behind the syncs, and are never refused.
    assert refused == 0 and len(waits) > 10
    assert max(waits) == pytest.approx(0.0, abs=1e-5)
    # Syncs and people together still get 90 % of the limit, the syncs 80 %, every minute.
    for minute in range(1, 3):
        begin = min(spent) + minute * WINDOW
        total = sum(1 for moment in spent if begin <= moment < begin + WINDOW)
        syncs = sum(1 for moment in synced if begin <= moment < begin + WINDOW)
        assert total >= 0.9 * limit and syncs >= 0.8 * limit, (minute, total, syncs)
    assert most_in_any_window(spent) <= limit


@pytest.mark.parametrize("cls", ["read-light", "write-light"])
def test_a_person_goes_at_once_after_a_busy_sync_loop(cls):
    """A sync-side loop on a fake clock, then a person's request: no wait; the next person
    queues one interval behind (the syncs wait)."""
    clock = FakeClock()
    store = MemoryStore()
    sync = SharedPacer(MemoryBudget(store=store, clock=clock), "standard", sleep=clock.sleep)
    web = SharedPacer(MemoryBudget(store=store, clock=clock), "standard", sleep=clock.sleep)
    for _ in range(50):
        sync.acquire(cls)
    assert web.acquire(cls, max_wait=3.0) == 0.0
    second = web.acquire(cls, max_wait=3.0)
    assert second <= Schedule.of(TIER_LIMITS["standard"][cls], grace=0.5).interval + 1e-6
    assert second <= 2.0


def test_a_sync_never_uses_the_reserve():
    """On a bucket left alone (full), a sync takes one token and books the next no sooner
    than one interval later: it never spends the burst people keep."""
    clock = FakeClock()
    pacer = SharedPacer(MemoryBudget(clock=clock), "standard", sleep=clock.sleep)
    waits = [pacer.acquire("read-light") for _ in range(4)]
    interval = Schedule.of(120, grace=0.5).interval
    assert waits[0] == 0.0
    assert waits[1:] == [pytest.approx(interval, abs=1e-5)] * 3
    # A person finds the burst: B - 1 = 5 tokens, the first at once.
    assert pacer.acquire("read-light", max_wait=0.0) == 0.0


def test_a_person_past_max_wait_is_refused_without_spending():
    clock = FakeClock()
    pacer = SharedPacer(MemoryBudget(clock=clock), "standard", sleep=clock.sleep)
    for _ in range(3):  # write-light: B = 3, all of it
        pacer.acquire("write-light", max_wait=0.0)
    tat = pacer.budget.store.tat["write-light"]
    with pytest.raises(WouldWait) as refused:
        pacer.acquire("write-light", max_wait=0.5)
    assert refused.value.seconds == pytest.approx(Schedule.of(60, grace=0.5).interval, abs=1e-5)
    assert pacer.budget.store.tat["write-light"] == tat and clock.slept == []


# --- the client with a shared pacer ---------------------------------------------------------------


@pytest.fixture(scope="module")
def scripted():
    with ScriptedServer() as srv:
        yield srv


def test_a_429_seen_by_one_process_holds_every_process(scripted):
    """Two clients (two processes: their own budget, one store): a 429 with Retry-After 30
    to a person's request in one makes a person's request in the other refuse at once, "try
    again in 30 s", without sending anything; and the other's sync waits it out."""
    scripted.script, scripted.requests = [], []
    clock = FakeClock()
    store = MemoryStore()

    def client():
        pacer = SharedPacer(MemoryBudget(store=store, clock=clock), sleep=clock.sleep)
        return LayersClient(
            base_url=scripted.base_url,
            api_key=SECRET,
            tier="standard",
            pacer=pacer,
            sleep=clock.sleep,
        )

    one, other = client(), client()
    scripted.script = [(429, {"Retry-After": "30"}, {"error": {"code": "RATE_LIMITED"}})]
    with pytest.raises(LayersBusy):
        one.project_get("prj_1", max_wait=3.0)
    with pytest.raises(LayersBusy) as busy:
        other.project_get("prj_1", max_wait=3.0)
    assert busy.value.retry_after in (30, 31)
    assert len(scripted.requests) == 1  # the second person's request was never sent
    other.project_get("prj_1")  # a sync's request: waits (fake clock), then goes
    assert sum(clock.slept) >= 30.0 and len(scripted.requests) == 2
    one.close()
    other.close()


# --- Redis ----------------------------------------------------------------------------------------


@pytest.fixture
def redis_prefix():
    """A key prefix of this test's own on the real Redis; its keys are deleted after."""
    import redis

    conn = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        conn.ping()
    except redis.RedisError as exc:
        if in_ci():
            pytest.fail(f"Redis at {REDIS_URL} is unreachable in CI ({exc}); .ci/run starts it")
        pytest.skip(f"Redis at {REDIS_URL} is unreachable ({exc}); CI runs these tests")
    prefix = f"layersadmin-test:{uuid.uuid4().hex[:12]}:"
    yield prefix
    for name in conn.scan_iter(match=f"{prefix}*"):
        conn.delete(name)
    conn.close()


def scaled(**extra):
    """Time scaled down: a 1 s window, a 0.1 s grace."""
    return {"window": 1.0, "grace": 0.1, "ahead": 0.3, **extra}


def spawn_workers(count: int, opts: dict) -> list[subprocess.Popen]:
    return [
        subprocess.Popen(
            [sys.executable, "-m", "tests.layersadmin.budget_workers", json.dumps(opts)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(count)
    ]


def collect(processes: list[subprocess.Popen]) -> list[list[float]]:
    """Each process's release moments."""
    drawn = []
    for process in processes:
        out, err = process.communicate(timeout=60)
        assert process.returncode == 0, err[-2000:]
        drawn.append(json.loads(out))
    return drawn


def draw_here(pacer, cls: str, end_at: float, threads: int) -> list[float]:
    from tests.layersadmin.budget_workers import draw

    return draw(pacer, cls, end_at, threads)


def test_redis_processes_and_threads_share_one_bucket(redis_prefix):
    """3 processes x 2 threads and 2 threads here on one bucket of 20 per (scaled) second:
    no 1 s window holds more than 20, all together."""
    limit, key = 20, key_id(SECRET)
    start_at = time.time() + 1.0
    opts = {
        "backend": "redis",
        "url": REDIS_URL,
        "prefix": redis_prefix,
        "key": key,
        "cls": "read-light",
        "limit": limit,
        "threads": 2,
        "start_at": start_at,
        "end_at": start_at + 2.0,
        **scaled(),
    }
    processes = spawn_workers(3, opts)
    budget = RedisBudget(REDIS_URL, key, prefix=redis_prefix, **scaled())
    pacer = SharedPacer(budget)
    pacer.set_limit("read-light", limit)
    time.sleep(max(0.0, start_at - time.time()))
    drawn = [draw_here(pacer, "read-light", opts["end_at"], 2), *collect(processes)]
    budget.close()
    moments = [moment for each in drawn for moment in each]
    assert sum(1 for each in drawn if each) >= 2  # several processes drew
    assert len(moments) >= 1.2 * limit  # the budget was used, not starved
    assert most_in_any_window(moments, 1.0) <= limit


def test_redis_take_is_the_reference_arithmetic(redis_prefix):
    """The Lua script computes what ``take_arithmetic`` does, from any state."""
    import redis

    conn = redis.Redis.from_url(REDIS_URL)
    budget = RedisBudget(REDIS_URL, "k" * 16, prefix=redis_prefix)
    schedule = Schedule.of(120)
    rng = random.Random(5)
    for _ in range(100):
        seconds, micros = conn.time()
        server_now = seconds * 1_000_000 + micros
        tat = server_now + rng.randint(-3_000_000, 5_000_000)
        conn.set(budget.bucket("read-light"), tat)
        tol = rng.choice([0, schedule.tolerance_us])
        ahead = rng.choice([0, 500_000, 2_000_000])
        want = rng.choice([1, 3, 50])
        now, x, n, _, _ = budget._reserve("read-light", schedule, tol, ahead, want)
        assert (x, n) == take_arithmetic(tat, now, schedule.interval_us, tol, ahead, want)[:2]
        after = int(conn.get(budget.bucket("read-light")))
        expected = take_arithmetic(tat, now, schedule.interval_us, tol, ahead, want)[2]
        assert after == (expected if n else tat)
    budget.close()
    conn.close()


def test_redis_person_goes_at_once_while_syncs_are_busy(redis_prefix):
    """Standard write-light's shape (60, B = 3) on a 12 s window: three sync threads keep
    the bucket busy; a person's request goes at once, the next one interval later."""
    budgets = [
        RedisBudget(REDIS_URL, key_id(SECRET), prefix=redis_prefix, window=12.0) for _ in "ab"
    ]
    waits, interval = person_behind_busy_syncs(*budgets)
    assert waits[0] < 0.15  # nothing to wait for: a store round trip
    assert waits[1] <= interval + 0.15
    for budget in budgets:
        budget.close()


def person_behind_busy_syncs(sync_budget, web_budget) -> tuple[list[float], float]:
    """Sync threads busy on one budget ("a sync process") for 1 s, then two requests for a
    person on the other ("a web process"): their waits, and the schedule's interval."""
    sync, web = SharedPacer(sync_budget, "standard"), SharedPacer(web_budget, "standard")
    stop = threading.Event()
    taken = []

    def work():
        while not stop.is_set():
            sync.acquire("write-light")
            taken.append(time.monotonic())

    threads = [threading.Thread(target=work, daemon=True) for _ in range(3)]
    for thread in threads:
        thread.start()
    time.sleep(1.0)
    waits = []
    for _ in range(2):
        began = time.monotonic()
        web.acquire("write-light", max_wait=3.0)
        waits.append(time.monotonic() - began)
    stop.set()
    for thread in threads:
        thread.join(timeout=10)
    assert len(taken) >= 3  # the syncs were drawing all along
    return waits, sync_budget.schedule(60).interval


def test_redis_never_stores_the_key(redis_prefix, caplog):
    import redis

    budget = RedisBudget(REDIS_URL, key_id(SECRET), prefix=redis_prefix)
    pacer = SharedPacer(budget, "standard")
    pacer.acquire("read-light")
    pacer.acquire("write-light", max_wait=3.0)
    pacer.hold("read-light", 1.0)
    conn = redis.Redis.from_url(REDIS_URL)
    names = sorted(name.decode() for name in conn.scan_iter(match=f"{redis_prefix}*"))
    assert names == [
        f"{redis_prefix}{key_id(SECRET)}:read-light",
        f"{redis_prefix}{key_id(SECRET)}:write-light",
    ]
    assert key_id(SECRET) == __import__("hashlib").sha256(SECRET.encode()).hexdigest()[:16]
    for name in names:
        assert conn.get(name).decode().isdigit()  # a time, nothing else
    assert SECRET not in repr(pacer) and SECRET not in caplog.text
    budget.close()
    conn.close()


def test_unreachable_redis_paces_alone_and_says_so_without_the_key(caplog):
    from layersadmin.layers import budget as module

    module._last_warning[0] = 0.0
    budget = RedisBudget("redis://127.0.0.1:1/0", key_id(SECRET))
    pacer = SharedPacer(budget, "standard")
    with caplog.at_level(logging.WARNING, logger="layersadmin.layers.budget"):
        began = time.monotonic()
        for _ in range(3):
            assert pacer.acquire("read-light") == pytest.approx(0.0, abs=1.0)
        assert pacer.acquire("write-light", max_wait=3.0) < 1.0
    assert time.monotonic() - began < 3.0  # one failed connect, then no store for a while
    assert "pacing this process alone" in caplog.text
    assert key_id(SECRET) in caplog.text and SECRET not in caplog.text
    assert "127.0.0.1:1" not in caplog.text
    budget.close()


# --- the database ---------------------------------------------------------------------------------


def db_budget(**kwargs):
    from layersadmin.budget_db import DatabaseBudget

    return DatabaseBudget(kwargs.pop("key", uuid.uuid4().hex[:16]), **kwargs)


@pytest.mark.django_db(transaction=True)
def test_database_processes_and_threads_share_one_bucket():
    """2 processes x 2 threads and 2 threads here on one row, 40 per (scaled) second: no
    1 s window holds more than 40, all together."""
    limit, key = 40, uuid.uuid4().hex[:16]
    start_at = time.time() + 2.0  # the children set Django up first
    opts = {
        "backend": "database",
        "db_name": str(connection.settings_dict["NAME"]),
        "key": key,
        "cls": "read-light",
        "limit": limit,
        "threads": 2,
        "start_at": start_at,
        "end_at": start_at + 2.0,
        **scaled(grace=0.25),
    }
    processes = spawn_workers(2, opts)
    budget = db_budget(key=key, **scaled(grace=0.25))
    pacer = SharedPacer(budget)
    pacer.set_limit("read-light", limit)
    time.sleep(max(0.0, start_at - time.time()))
    drawn = [draw_here(pacer, "read-light", opts["end_at"], 2), *collect(processes)]
    budget.close()
    moments = [moment for each in drawn for moment in each]
    assert sum(1 for each in drawn if each) >= 2
    assert len(moments) >= 1.2 * limit
    assert most_in_any_window(moments, 1.0) <= limit


@pytest.mark.django_db(transaction=True)
def test_database_sync_takes_tokens_in_batches():
    """300 sync requests cost a few dozen short UPDATEs, not 300."""
    budget = db_budget(window=1.0, grace=0.5, ahead=0.5)
    pacer = SharedPacer(budget)
    pacer.set_limit("read-light", 1200)
    moments = []
    with CaptureQueriesContext(budget.connection) as queries:
        for _ in range(300):
            pacer.acquire("read-light")
            moments.append(time.monotonic())
    updates = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("UPDATE")]
    assert len(updates) == budget.updates
    assert 5 <= len(updates) <= 300 / 8, len(updates)
    assert most_in_any_window(moments, 1.0) <= 1200
    budget.close()


@pytest.mark.django_db(transaction=True)
def test_database_person_goes_at_once_while_syncs_are_busy():
    key = uuid.uuid4().hex[:16]
    budgets = [db_budget(key=key, window=12.0) for _ in "ab"]
    waits, interval = person_behind_busy_syncs(*budgets)
    assert waits[0] < 0.15
    assert waits[1] <= interval + 0.15
    for budget in budgets:
        budget.close()


@pytest.mark.django_db(transaction=True)
def test_database_rows_name_the_key_by_its_hash_only():
    from layersadmin.models import RateBudget

    budget = db_budget(key=key_id(SECRET))
    pacer = SharedPacer(budget, "standard")
    pacer.acquire("read-light")
    pacer.acquire("write-light", max_wait=3.0)
    rows = list(RateBudget.objects.values("key_hash", "endpoint_class", "tat_us"))
    assert sorted(row["endpoint_class"] for row in rows) == ["read-light", "write-light"]
    for row in rows:
        assert row["key_hash"] == key_id(SECRET) and row["tat_us"] > 0
        assert SECRET not in json.dumps(row)
    assert SECRET not in repr(pacer)
    budget.close()


@pytest.mark.django_db(transaction=True)
def test_database_hold_reaches_every_process():
    key = uuid.uuid4().hex[:16]
    one, other = db_budget(key=key), db_budget(key=key)
    SharedPacer(one, "standard").hold("write-light", 20.0)
    with pytest.raises(WouldWait) as refused:
        SharedPacer(other, "standard").acquire("write-light", max_wait=3.0)
    assert 19.0 < refused.value.seconds <= 21.0
    one.close()
    other.close()


@pytest.mark.django_db
def test_database_budget_inside_the_callers_transaction():
    """Inside an atomic block (every django_db test is in one): no deadlock. SQLite takes
    the token on the caller's connection (it holds the one write lock); PostgreSQL on the
    budget's own connection, so the caller's rollback cannot undo it."""
    budget = db_budget()
    pacer = SharedPacer(budget, "standard")
    began = time.monotonic()
    with transaction.atomic():
        pacer.acquire("read-light")
        pacer.acquire("read-light", max_wait=3.0)
    assert time.monotonic() - began < 5.0
    if connection.vendor == "sqlite":
        assert budget._connection is None  # never opened: the caller's connection served
    else:
        with budget.connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM layersadmin_ratebudget WHERE key_hash = %s", [budget.key]
            )
            assert cursor.fetchone()[0] == 1  # committed on its own
    budget.close()


# --- get_client() ---------------------------------------------------------------------------------


def test_get_client_picks_the_budget_from_settings(settings):
    settings.LAYERS_API_KEY = SECRET
    settings.LAYERS_API_TIER = "standard"
    settings.LAYERS_RATE_BUDGET = "local"
    pacer = get_client().pacer
    assert type(pacer) is RatePacer and pacer.limit("read-light") == 120

    settings.LAYERS_RATE_BUDGET = "database"
    pacer = get_client().pacer
    assert isinstance(pacer, SharedPacer) and pacer.budget.kind == "database"
    assert pacer.budget.key == key_id(SECRET) and pacer.limit("write-light") == 60
    assert get_client().pacer.budget is pacer.budget  # one budget per process and key

    settings.LAYERS_RATE_BUDGET = "auto"
    settings.LAYERS_RATE_BUDGET_REDIS_URL = ""
    assert get_client().pacer.budget.kind == "database"
    settings.LAYERS_RATE_BUDGET_REDIS_URL = REDIS_URL
    assert get_client().pacer.budget.kind == "redis"  # built lazily: no round trip yet
    settings.LAYERS_RATE_BUDGET = "redis"
    assert get_client(api_key="other").pacer.budget.key == key_id("other")

    settings.LAYERS_RATE_BUDGET = "bogus"
    with pytest.raises(ImproperlyConfigured, match="LAYERS_RATE_BUDGET"):
        get_client()


def test_unlimited_and_a_given_pacer_consult_no_budget(settings):
    settings.LAYERS_RATE_BUDGET = "redis"
    settings.LAYERS_RATE_BUDGET_REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    client = get_client(tier="unlimited")
    assert type(client.pacer) is RatePacer and client.pacer.limit("read-light") is None
    began = time.monotonic()
    for _ in range(100):
        assert client.pacer.acquire("read-light") == 0.0
    assert time.monotonic() - began < 0.1
    own = RatePacer()
    assert get_client(tier="standard", pacer=own).pacer is own


def test_settings_refuse_an_unknown_budget_and_redis_without_a_redis():
    result = run_settings(DEBUG="true", LAYERS_RATE_BUDGET="shared")
    assert result.returncode != 0 and "LAYERS_RATE_BUDGET" in result.stderr
    result = run_settings(DEBUG="true", LAYERS_RATE_BUDGET="redis", CACHE_URL="locmemcache://")
    assert result.returncode != 0 and "CACHE_URL" in result.stderr
    result = run_settings(DEBUG="true", LAYERS_RATE_BUDGET="Redis", CACHE_URL=REDIS_URL)
    assert result.returncode == 0, result.stderr
