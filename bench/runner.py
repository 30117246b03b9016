"""Runs every measure, side by side, and collects the figures (no Django in this process).

Per database: a sandbox process at tier ``unlimited`` with no added latency, then on fresh
databases the naive baseline, the sync of the same projects, the full sync, the no-change
re-sync, an advance and the incremental sync, the dashboard pages, the load; then the memory
runs at two sizes. Once, on the first database: the full sync at the standard tier with 50 ms
of latency per request.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.config import (
    ADVANCE_HOURS,
    API_KEY,
    PYTHON,
    ROOT,
    SECRET_KEY,
    SUBSET_RUNS,
    TIER,
    TIER_LATENCY_MS,
    TIER_READS_PER_MINUTE,
    Scale,
)
from bench.dbs import Database, PostgresDatabases, SqliteDatabases, pg_server_url
from bench.sandbox_proc import SandboxProcess


class BenchError(RuntimeError):
    pass


def say(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", flush=True)


def machine_info() -> dict[str, Any]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        cpu = platform.processor()
    memory_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "memory_gb": memory_gb,
        "os": platform.platform(),
        "python": platform.python_version(),
    }


def git_commit() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            # The figures file a run rewrites does not make the code "uncommitted".
            ["git", "status", "--porcelain", "--", ".", ":!bench/results.json"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
        return f"{head}{' (uncommitted changes)' if dirty else ''}"
    except OSError:
        return ""


class Runner:
    def __init__(
        self,
        *,
        scale: Scale,
        engines: list[str],
        work_dir: Path,
        skip: set[str],
        profile: bool,
        pg_prefix: str,
        load_seconds: float | None,
        naive_projects: int | None,
    ) -> None:
        self.scale = scale
        self.engines = engines
        self.work_dir = Path(work_dir)
        self.skip = skip
        self.profile = profile
        self.pg_prefix = pg_prefix
        self.load_seconds = scale.load_seconds if load_seconds is None else load_seconds
        self.naive_projects = naive_projects or scale.naive_projects
        for sub in ("out", "logs", "profiles"):
            (self.work_dir / sub).mkdir(parents=True, exist_ok=True)

    # --- plumbing -------------------------------------------------------------------------------

    def databases(self, engine: str) -> Database:
        if engine == "sqlite":
            return SqliteDatabases(self.work_dir)
        dbs = PostgresDatabases(pg_server_url(), prefix=self.pg_prefix)
        try:
            dbs.check()
        except Exception as exc:
            raise BenchError(
                f"PostgreSQL is not reachable at {pg_server_url()} ({exc}). Start it, set "
                "BENCH_PG_URL=postgres://user@host:5432/postgres, or run with --db sqlite."
            ) from None
        return dbs

    def env(self, db_url: str, base_url: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "LAYERS_API"))}
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": "layersadmin.settings",
                "DATABASE_URL": db_url,
                "DEBUG": "false",  # production-like: no query logging, no debug toolbar
                "SECRET_KEY": SECRET_KEY,
                "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
                "SECURE_SSL_REDIRECT": "false",
                "STATICFILES_STORAGE": "django.contrib.staticfiles.storage.StaticFilesStorage",
                "LAYERS_API_BASE_URL": base_url or "http://127.0.0.1:9/v1",
                "LAYERS_API_KEY": API_KEY,
                "LOG_LEVEL": "WARNING",
                "CACHE_URL": "locmemcache://bench",
                "PYTHONUNBUFFERED": "1",
            }
        )
        return env

    def worker(
        self,
        task: str,
        label: str,
        db_url: str,
        base_url: str = "",
        opts: dict | None = None,
        timeout: float = 3600,
    ) -> dict[str, Any]:
        out = self.work_dir / "out" / f"{label}.json"
        log = self.work_dir / "logs" / f"{label}.log"
        out.unlink(missing_ok=True)
        cmd = [PYTHON, "-m", "bench.worker", task, "--out", str(out)]
        cmd += ["--opts", json.dumps(opts or {})]
        with open(log, "w") as handle:
            proc = subprocess.run(
                cmd,
                cwd=ROOT,
                env=self.env(db_url, base_url),
                stdout=handle,
                stderr=subprocess.STDOUT,
                timeout=timeout,
            )
        if proc.returncode != 0 or not out.exists():
            tail = log.read_text()[-4000:]
            raise BenchError(f"step {label} ({task}) failed, exit {proc.returncode}:\n{tail}")
        return json.loads(out.read_text())

    def sync_step(
        self, sandbox: SandboxProcess, task: str, label: str, db_url: str, opts: dict | None = None
    ) -> dict[str, Any]:
        """A worker step against ``sandbox``, with the CPU the sandbox spent serving it (the
        stand-in API shares the machine's cores with the code being measured)."""
        before = sandbox.cpu_seconds()
        result = self.worker(task, label, db_url, sandbox.base_url, opts)
        result["sandbox_cpu_s"] = sandbox.cpu_seconds() - before
        return result

    def profile_path(self, label: str) -> str | None:
        return str(self.work_dir / "profiles" / f"{label}.html") if self.profile else None

    # --- the measures ---------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        started = time.time()
        results: dict[str, Any] = {
            "meta": {
                "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "command": "python -m bench " + " ".join(sys.argv[1:]),
                "scale": self.scale.as_dict(),
                "naive_projects": self.naive_projects,
                "machine": machine_info(),
                "git": git_commit(),
                "load_average_start": list(os.getloadavg()),
                "skip": sorted(self.skip),
            },
            "databases": {},
            "tier": None,
        }
        for engine in self.engines:
            results["databases"][engine] = self.run_database(engine)
        if "tier" not in self.skip:
            results["tier"] = self.run_tier(self.engines[0])
        results["meta"]["load_average_end"] = list(os.getloadavg())
        results["meta"]["duration_s"] = time.time() - started
        return results

    def run_database(self, engine: str) -> dict[str, Any]:
        scale = self.scale
        dbs = self.databases(engine)
        say(f"{engine}: migrating a template database")
        self.worker("migrate", f"{engine}-migrate", dbs.make_template())
        result: dict[str, Any] = {"engine": engine, "version": dbs.version()}
        try:
            log = self.work_dir / "logs" / f"{engine}-sandbox.log"
            with SandboxProcess(
                projects=scale.projects, creatives=scale.creatives, log_path=log
            ) as sandbox:
                say(f"{engine}: sandbox {scale.projects} x {scale.creatives}, generating")
                ids = sandbox.warm()
                subset = ids[: self.naive_projects]
                base = sandbox.base_url
                if "naive" not in self.skip:
                    say(f"{engine}: naive baseline, {len(subset)} projects")
                    result["naive"] = self.sync_step(
                        sandbox, "naive", f"{engine}-naive", dbs.fresh("naive"),
                        {"project_ids": subset},
                    )  # fmt: skip
                    dbs.drop("naive")
                    if len(subset) < len(ids):
                        say(f"{engine}: sync of the same {len(subset)} projects, x{SUBSET_RUNS}")
                        result["subset_sync"] = self.subset_sync(sandbox, engine, dbs, subset)
                main = dbs.fresh("main")
                say(f"{engine}: full sync")
                result["full_sync"] = self.sync_step(
                    sandbox, "sync", f"{engine}-full-sync", main,
                    {"profile": self.profile_path(f"{engine}-full-sync")},
                )  # fmt: skip
                if "naive" not in self.skip and "subset_sync" not in result:
                    result["subset_sync"] = result["full_sync"]
                say(f"{engine}: re-sync, no upstream change")
                result["resync"] = self.sync_step(sandbox, "sync", f"{engine}-resync", main)
                result["advance"] = sandbox.advance(ADVANCE_HOURS)
                say(f"{engine}: incremental sync after advancing {ADVANCE_HOURS} h")
                result["incremental"] = self.sync_step(
                    sandbox, "sync", f"{engine}-incremental", main
                )
                if "pages" not in self.skip:
                    say(f"{engine}: dashboard pages, cached and pass-through")
                    result["pages"] = self.pages(engine, main, base)
                if "load" not in self.skip:
                    say(f"{engine}: load, gunicorn x3, {self.load_seconds:g} s at the held rate")
                    result["load"] = self.worker(
                        "load", f"{engine}-load", main, base,
                        {
                            "seconds": self.load_seconds,
                            "probe_seconds": scale.probe_seconds,
                            "log": str(self.work_dir / "logs" / f"{engine}-gunicorn.log"),
                        },
                    )  # fmt: skip
            if "memory" not in self.skip:
                result["memory"] = self.run_memory(engine, dbs)
        finally:
            dbs.cleanup()
        return result

    def subset_sync(
        self, sandbox: SandboxProcess, engine: str, dbs: Database, subset: list[str]
    ) -> dict[str, Any]:
        """The sync side of the naive comparison: SUBSET_RUNS runs of a few seconds each, each
        on a fresh database; the median run stands (all are kept). The naive side is one run
        ten times longer, whose own noise averages out within it."""
        runs = []
        for i in range(SUBSET_RUNS):
            runs.append(
                self.sync_step(
                    sandbox,
                    "sync",
                    f"{engine}-subset-sync-{i + 1}",
                    dbs.fresh("subset"),
                    {"project_ids": subset},
                )  # fmt: skip
            )
            dbs.drop("subset")
        ordered = sorted(runs, key=lambda run: run["rows_per_s"])
        median = dict(ordered[len(ordered) // 2])
        median["runs_rows_per_s"] = [run["rows_per_s"] for run in runs]
        return median

    def pages(self, engine: str, db_url: str, base_url: str) -> dict[str, Any]:
        opts = {
            "reps": self.scale.page_reps,
            "passthrough_reps": self.scale.passthrough_reps,
            "passthrough_reps_slow": self.scale.passthrough_reps_slow,
            "profile": self.profile_path(f"{engine}-pages"),
            "log_dir": str(self.work_dir / "logs" / engine),
        }
        (self.work_dir / "logs" / engine).mkdir(parents=True, exist_ok=True)
        if "latency" in self.skip:
            return self.worker("pages", f"{engine}-pages", db_url, base_url, opts)
        # A second sandbox, same seed and size, adding TIER_LATENCY_MS to every call: the
        # pass-through measured again as it would be over a network (a line of its own).
        with SandboxProcess(
            projects=self.scale.projects,
            creatives=self.scale.creatives,
            latency_ms=TIER_LATENCY_MS,
            log_path=self.work_dir / "logs" / f"{engine}-latency-sandbox.log",
        ) as slow:
            slow.warm()
            opts.update({"latency_base_url": slow.base_url, "latency_ms": TIER_LATENCY_MS})
            return self.worker("pages", f"{engine}-pages", db_url, base_url, opts)

    def run_memory(self, engine: str, dbs: Database) -> list[dict[str, Any]]:
        runs = []
        for projects, creatives in self.scale.memory_sizes:
            say(f"{engine}: memory, {projects} x {creatives} under tracemalloc")
            with SandboxProcess(projects=projects, creatives=creatives) as sandbox:
                sandbox.warm()
                label = f"{engine}-memory-{projects}x{creatives}"
                run = self.worker(
                    "sync", label, dbs.fresh("memory"), sandbox.base_url, {"tracemalloc": True}
                )
            runs.append(
                {
                    "projects": projects,
                    "creatives": creatives,
                    "rows": run["rows"],
                    "tracemalloc_peak_kb": run["tracemalloc_peak_kb"],
                    "rss_before_mb": run["rss_before_mb"],
                    "rss_peak_mb": run["rss_peak_mb"],
                    "ok": run["ok"],
                }
            )
            dbs.drop("memory")
        return runs

    def run_tier(self, engine: str) -> dict[str, Any]:
        scale = self.scale
        dbs = self.databases(engine)
        self.worker("migrate", f"tier-{engine}-migrate", dbs.make_template())
        try:
            with SandboxProcess(
                projects=scale.projects,
                creatives=scale.creatives,
                tier=TIER,
                latency_ms=TIER_LATENCY_MS,
                log_path=self.work_dir / "logs" / "tier-sandbox.log",
            ) as sandbox:
                sandbox.warm()  # two list calls of the bucket: let it refill before the run
                time.sleep(3)
                say(
                    f"tier: full sync at tier {TIER} with {TIER_LATENCY_MS} ms per request "
                    f"({engine}); paced by the read budget, this takes a while"
                )
                run = self.worker(
                    "sync",
                    f"tier-{engine}-sync",
                    dbs.fresh("tier"),
                    sandbox.base_url,
                    {"tier": TIER},  # the client paces at the tier being measured
                )
        finally:
            dbs.cleanup()
        calls = run["api_calls"]
        per_second = TIER_READS_PER_MINUTE / 60
        least = calls / per_second
        least_after_burst = max(0, calls - TIER_READS_PER_MINUTE) / per_second
        wall = run["wall_s"]
        return {
            "engine": engine,
            "tier": TIER,
            "latency_ms": TIER_LATENCY_MS,
            "reads_per_minute": TIER_READS_PER_MINUTE,
            "sync": run,
            "api_calls": calls,
            "wall_s": wall,
            "least_s": least,
            "budget_use": least / wall if wall else None,
            "least_after_burst_s": least_after_burst,
            "budget_use_after_burst": least_after_burst / wall
            if wall and least_after_burst
            else None,
            "throttled_429": run["throttled_429"],
            "retries": run["retries"],
            "meaningful": calls > 2 * TIER_READS_PER_MINUTE,
        }
