"""Smoke run of the benchmark harness (bench/) at a tiny size: every measure runs and writes
sane figures. The real run is ``make bench`` (bench/RESULTS.md); this only checks the harness.

Honours DATABASE_URL: on PostgreSQL the bench databases are created on that server (named
``layersadmin_bench_smoke_<pid>_*``, dropped at the end), otherwise SQLite files in tmp_path.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGES = {
    "projects",
    "gallery_first",
    "gallery_deep",
    "leaderboard",
    "creatives",
    "agency_leaderboard",
    "override",
}


def _finite(value) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def test_bench_runs_at_tiny_scale_and_writes_every_section(tmp_path):
    out = tmp_path / "results.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    cmd = [
        sys.executable, "-m", "bench", "--scale", "tiny", "--db", "auto",
        "--json", str(out), "--work-dir", str(tmp_path / "work"),
        "--pg-prefix", f"layersadmin_bench_smoke_{os.getpid()}",
    ]  # fmt: skip
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert "Targets" in proc.stdout and "1. Full sync" in proc.stdout

    data = json.loads(out.read_text())
    assert data["meta"]["scale"]["name"] == "tiny"
    assert data["meta"]["machine"]["cores"] >= 1
    [(engine, db)] = data["databases"].items()
    expected = "postgres" if os.environ.get("DATABASE_URL", "").startswith("postg") else "sqlite"
    assert engine == expected
    rows = 2 * 20 * 2  # 2 projects x (20 containers + 20 scored creatives)

    full = db["full_sync"]
    assert full["ok"] and full["rows"] == rows and full["api_calls"] > 0
    assert _finite(full["rows_per_s"]) and full["rows_per_s"] > 0 and full["rss_peak_mb"] > 0
    naive = db["naive"]
    assert naive["rows"] == rows // 2 and naive["rows_per_s"] > 0  # the first project
    subset = db["subset_sync"]
    assert subset["rows"] == naive["rows"]  # the same data on both sides
    assert len(subset["runs_rows_per_s"]) == 3
    assert subset["rows_per_s"] == sorted(subset["runs_rows_per_s"])[1]  # the median run

    resync = db["resync"]
    assert resync["ok"] and resync["rows_written"] == 0
    assert sum(resync["db_rows_touched"].values()) == 0
    assert resync["tables_before"] == resync["tables_after"]
    assert db["advance"]["totals"]
    assert db["incremental"]["ok"] and db["incremental"]["api_calls"] > 0

    pages = db["pages"]["pages"]
    assert set(pages) == PAGES
    for name, page in pages.items():
        assert page["cached"]["statuses"] == [200], name
        assert page["passthrough"]["statuses"] == [200], name
        assert page["cached"]["queries"] > 0, name
        assert _finite(page["cached"]["p95_ms"]) and _finite(page["passthrough"]["median_ms"])
        assert page["passthrough"]["api_calls"] > 0, name
    first, deep = db["pages"]["gallery_queries_first_vs_deep"]
    assert first == deep

    load = db["load"]
    assert load["final"]["ok"] > 0 and load["final"]["errors"] == 0
    assert _finite(load["final"]["p95_ms"])

    memory = db["memory"]
    assert len(memory) == 2 and all(m["ok"] and m["tracemalloc_peak_kb"] > 0 for m in memory)

    tier = data["tier"]
    assert tier["sync"]["ok"] and tier["api_calls"] > 0 and tier["throttled_429"] == 0
    assert data["targets"]
