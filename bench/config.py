"""Scales, fixed inputs and paths of the benchmark."""

from __future__ import annotations

import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from sandbox.server import PINNED_NOW

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
DEFAULT_WORK_DIR = ROOT / "bench" / ".work"
DEFAULT_JSON = ROOT / "bench" / "results.json"

# The sandbox's main key for every benchmark sandbox (shape lp_test_<16>_<43>).
API_KEY = "lp_test_BENCHMARKBENCHMA_" + "b" * 43
SEED = 1
SANDBOX_NOW = PINNED_NOW  # every benchmark sandbox's clock, pinned: the same data every run
SECRET_KEY = "bench-only-not-secret-" + "x" * 40
ADVANCE_HOURS = 1  # measure 3: the virtual clock moves this far before the incremental sync
TIER = "standard"  # measure 4
TIER_LATENCY_MS = 50
TIER_READS_PER_MINUTE = 120  # the standard tier's read-light budget (sandbox/limits.py)
SUBSET_RUNS = 3  # runs of the sync side of the naive comparison (the median run is reported)
# Measure 6 and bench/speed.py (issue 16): the held rate must keep p95 within the bound (it
# was 200 ms for issue 7), and reach LOAD_TARGET_RPS, with gunicorn as configured here.
LOAD_P95_MS = 100.0
LOAD_TARGET_RPS = 150.0
# Two processes of four threads (gthread) for two cores: measured 27.6 req/s at p95 51 ms
# where three sync workers held 1.9 to 22.5 (bench/RESULTS.md, 2026-12-05); each process's
# rendered rows ({% rowcache %}) serve all its threads, so fewer processes warm faster.
LOAD_WORKERS = 2
LOAD_THREADS = 4
# bench/speed.py (issue 16): every dashboard page's server time and size.
PAGE_P95_TARGET_MS = 20.0
HTML_PER_50_ROWS_TARGET_KB = 60.0


@dataclass(frozen=True)
class Scale:
    name: str
    projects: int  # projects in the sandbox (one is archived from 4 up)
    creatives: int  # containers per project = ads-content rows per project
    naive_projects: int  # the naive baseline writes the first N projects (same data both sides)
    page_reps: int  # timed requests per dashboard page (after warm-up)
    passthrough_reps: int  # timed pass-through answers per page
    passthrough_reps_slow: int  # for the pass-through pages that walk every project
    load_seconds: float  # the fixed-rate run
    probe_seconds: float  # each step of the ladder that finds the rate
    # (projects, creatives) of the two tracemalloc runs. From the small scale up both sizes
    # have 5 or more pages per list, so the sync's prefetch queue fills in both (its peak is the
    # pages in flight); the comparison then shows growth with rows, not with queue fill.
    memory_sizes: tuple[tuple[int, int], ...]

    def as_dict(self) -> dict:
        return asdict(self)


SCALES = {
    "full": Scale(
        name="full",
        projects=50,
        creatives=2000,
        naive_projects=10,
        page_reps=60,
        passthrough_reps=5,
        passthrough_reps_slow=2,
        load_seconds=60,
        probe_seconds=6,
        memory_sizes=((2, 1000), (8, 2000)),
    ),
    "small": Scale(
        name="small",
        projects=10,
        creatives=300,
        naive_projects=10,
        page_reps=30,
        passthrough_reps=3,
        passthrough_reps_slow=2,
        load_seconds=15,
        probe_seconds=2,
        memory_sizes=((2, 1000), (4, 2000)),
    ),
    "tiny": Scale(
        name="tiny",
        projects=2,
        creatives=20,
        naive_projects=1,  # fewer than all, so the smoke run takes the subset path too
        page_reps=3,
        passthrough_reps=1,
        passthrough_reps_slow=1,
        load_seconds=2,
        probe_seconds=0.5,
        memory_sizes=((2, 5), (2, 20)),
    ),
}


def env_float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default
