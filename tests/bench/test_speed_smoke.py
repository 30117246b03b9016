"""Smoke run of ``python -m bench.speed`` (issue 16's page and load figures) at a tiny size:
every dashboard page answers 200 and is measured with its queries, size and rows. The real
run is at full scale (bench/RESULTS.md); this only checks the harness.

Honours DATABASE_URL like tests/bench/test_smoke.py.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LISTS = {"projects", "gallery_first", "gallery_deep", "leaderboard", "creatives"}


def test_speed_bench_measures_every_page_at_tiny_scale(tmp_path):
    out = tmp_path / "speed.json"
    engine = "postgres" if os.environ.get("DATABASE_URL", "").startswith("postg") else "sqlite"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    cmd = [
        sys.executable, "-m", "bench.speed", "--scale", "tiny", "--db", engine,
        "--reps", "2", "--load-seconds", "1", "--json", str(out),
        "--work-dir", str(tmp_path / "work"),
        "--pg-prefix", f"layersadmin_speed_smoke_{os.getpid()}",
    ]  # fmt: skip
    try:
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    finally:
        if engine == "postgres":  # the kept mirror is for reruns; not a test's to keep
            from bench.dbs import PostgresDatabases, pg_server_url

            PostgresDatabases(
                pg_server_url(), prefix=f"layersadmin_speed_smoke_{os.getpid()}"
            ).drop("main")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert "Targets: p95 <= 20 ms" in proc.stdout

    data = json.loads(out.read_text())
    pages = data["databases"][engine]["pages"]["pages"]
    assert set(pages) >= LISTS
    for name, page in pages.items():
        assert page["statuses"] == [200] and page["status"] == 200, name
        assert page["queries"] > 0 and page["bytes"] > 0, name
        assert math.isfinite(page["p95_ms"]), name
    for name in LISTS:
        assert pages[name]["rows"] > 0, name
        assert pages[name]["bytes_per_50_rows"] > pages[name]["bytes"] * 0.99, name
    load = data["databases"][engine]["load"]
    assert load["final"]["ok"] > 0 and load["p95_bound_ms"] == 100
    assert {t["db"] for t in data["targets"]} == {engine}
