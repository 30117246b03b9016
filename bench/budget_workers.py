"""Ten sync workers on one API key: does the shared rate budget hold the tier's limit?

``python -m bench.budget_workers [--workers 10] [--projects 20] [--creatives 1000]
[--budgets database,redis] [--redis-db 13] [--keep-db]``

For each budget (``LAYERS_RATE_BUDGET=database``, then ``redis``): a fresh PostgreSQL database
``bench_budget_workers`` (created, migrated, dropped), one sandbox at tier ``standard`` that
enforces the tier (120 reads a minute, answering 429 beyond), one API key, and ``--workers``
processes each running ``manage.py sync_layers --full --project ...`` over its own share of
the projects, all with ``LAYERS_API_TIER=standard``. The sandbox runs in this process, which
does nothing else while the workers run (everything measured is in the worker processes); it
records the moment every /v1 request of the key reaches its rate limiter and whether it was
refused, from which come the total, the largest number of requests in any 60-second window
(both ends included) and the 429s. The workers' ``SyncRun`` rows give their own count of
calls and 429s as a cross-check. Each run's key is random, so a bucket left in Redis (or by
someone else's run) is never this run's. ``--budgets local`` runs the same with each process
pacing alone (the behaviour without a shared budget), for contrast.

The helpers (recording sandbox, worker environment, PostgreSQL database, sliding window) are
shared with ``bench.override_latency``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import string
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bench.config import PYTHON, ROOT, SANDBOX_NOW, SECRET_KEY, SEED
from bench.dbs import pg_server_url

WINDOW = 60.0
TIER = "standard"
DB_NAME = "bench_budget_workers"
WORK = ROOT / "bench" / ".work"


# --- the sandbox, recording ----------------------------------------------------------------------


def random_api_key() -> str:
    """A key of the documented shape ``lp_test_<16 base32>_<43 base64url>``, new every run."""
    b32 = string.ascii_uppercase + "234567"
    return (
        "lp_test_"
        + "".join(secrets.choice(b32) for _ in range(16))
        + "_"
        + (secrets.token_urlsafe(40)[:43])
    )


class RecordingSandbox:
    """A ``SandboxServer`` at ``tier`` whose rate limiter records every take of a key:
    ``records`` is a list of ``(wall time, endpoint class, allowed)`` in arrival order."""

    def __init__(self, *, projects: int, creatives: int, tier: str = TIER) -> None:
        from sandbox.server import SandboxServer

        self.api_key = random_api_key()
        self.server = SandboxServer(
            seed=SEED,
            projects=projects,
            creatives_per_project=creatives,
            tier=tier,
            api_key=self.api_key,
            now=SANDBOX_NOW,
        )
        self.records: list[tuple[float, str, bool]] = []
        self._lock = threading.Lock()
        limiter = self.server.limiter
        take = limiter.take

        def recording_take(key_id, cls, consume=True):
            allowed, headers = take(key_id, cls, consume)
            if key_id is not None and consume:
                with self._lock:
                    self.records.append((time.time(), cls, allowed))
            return allowed, headers

        limiter.take = recording_take

    def __enter__(self) -> RecordingSandbox:
        self.server.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.stop()

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def project_ids(self) -> list[str]:
        """The main key's organization's projects (active and archived), generated now so
        that no worker pays for the generation."""
        store = self.server.store
        org = store.authenticate(self.api_key).org_id
        store.materialize_org(org)
        return sorted(p.id for p in store.projects.values() if p.org_id == org)

    def clear(self) -> None:
        with self._lock:
            self.records.clear()

    def figures(self, since: float = 0.0) -> dict:
        """Requests, 429s and the busiest 60-second window, per class and in all."""
        with self._lock:
            records = [r for r in self.records if r[0] >= since]
        out: dict = {"requests": len(records), "throttled": sum(1 for r in records if not r[2])}
        if records:
            out["first"] = records[0][0]
            out["last"] = records[-1][0]
            out["span"] = records[-1][0] - records[0][0]
        for cls in sorted({r[1] for r in records}):
            times = [r[0] for r in records if r[1] == cls]
            accepted = [r[0] for r in records if r[1] == cls and r[2]]
            out[cls] = {
                "requests": len(times),
                "throttled": len(times) - len(accepted),
                "max_60s": sliding_max(times),
                "max_60s_accepted": sliding_max(accepted),
            }
        return out


def sliding_max(times: list[float], window: float = WINDOW) -> int:
    """The most moments of ``times`` in any closed window ``[t, t + window]``."""
    times = sorted(times)
    best, j = 0, 0
    for i, start in enumerate(times):
        j = max(j, i)
        while j + 1 < len(times) and times[j + 1] <= start + window:
            j += 1
        best = max(best, j - i + 1)
    return best


# --- the workers' environment and database -------------------------------------------------------


def worker_env(
    *, db_url: str, base_url: str, api_key: str, budget: str, cache_url: str = ""
) -> dict[str, str]:
    """Production-like settings (as ``bench.runner``), paced at ``standard`` on the shared
    budget ``budget``; ``cache_url`` (a Redis for the redis budget) else a local cache."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "LAYERS_"))}
    env.pop("CACHE_URL", None)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "layersadmin.settings",
            "DATABASE_URL": db_url,
            "DEBUG": "false",
            "SECRET_KEY": SECRET_KEY,
            "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
            "SECURE_SSL_REDIRECT": "false",
            "STATICFILES_STORAGE": "django.contrib.staticfiles.storage.StaticFilesStorage",
            "LAYERS_API_BASE_URL": base_url,
            "LAYERS_API_KEY": api_key,
            "LAYERS_API_TIER": TIER,
            "LAYERS_RATE_BUDGET": budget,
            "CACHE_URL": cache_url or "locmemcache://bench",
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def _pg_admin():
    import psycopg

    parts = urlsplit(pg_server_url())
    return psycopg.connect(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
        user=parts.username or "postgres",
        password=parts.password or None,
        dbname="postgres",
        autocommit=True,
    )


def pg_url(name: str) -> str:
    parts = urlsplit(pg_server_url())
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, "", ""))


def pg_drop(name: str) -> None:
    from psycopg import sql

    with _pg_admin() as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def pg_fresh(name: str) -> str:
    """Drop and create the database ``name``; its DATABASE_URL."""
    from psycopg import sql

    pg_drop(name)
    with _pg_admin() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return pg_url(name)


def manage(env: dict[str, str], *args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [PYTHON, "manage.py", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        **kwargs,
    )


def migrate(env: dict[str, str]) -> None:
    proc = manage(env, "migrate", "--verbosity", "0")
    out, _ = proc.communicate()
    if proc.returncode:
        raise RuntimeError(f"migrate failed:\n{out}")


def sync_runs(db_url: str) -> list[dict]:
    """Every SyncRun row of the database (PostgreSQL or SQLite), as dicts."""
    query = (
        "SELECT id, status, api_calls, throttled, retries, projects_synced, error_count "
        "FROM sync_syncrun ORDER BY id"
    )
    names = ["id", "status", "api_calls", "throttled", "retries", "synced", "errors"]
    if db_url.startswith("sqlite:///"):
        import sqlite3

        conn = sqlite3.connect(db_url[len("sqlite:///") :])
        try:
            return [dict(zip(names, row, strict=True)) for row in conn.execute(query)]
        finally:
            conn.close()
    import psycopg

    with psycopg.connect(db_url) as conn:
        return [dict(zip(names, row, strict=True)) for row in conn.execute(query)]


# --- one run -------------------------------------------------------------------------------------


def run_once(args, budget: str) -> dict:
    cache_url = f"redis://127.0.0.1:6379/{args.redis_db}" if budget == "redis" else ""
    db_url = pg_fresh(DB_NAME)
    try:
        with RecordingSandbox(projects=args.projects, creatives=args.creatives) as sandbox:
            env = worker_env(
                db_url=db_url,
                base_url=sandbox.base_url,
                api_key=sandbox.api_key,
                budget=budget,
                cache_url=cache_url,
            )
            migrate(env)
            ids = sandbox.project_ids()
            shares = [ids[i :: args.workers] for i in range(args.workers)]
            shares = [share for share in shares if share]
            sandbox.clear()
            started = time.time()
            procs = []
            for share in shares:
                options = [arg for pid in share for arg in ("--project", pid)]
                procs.append(manage(env, "sync_layers", "--full", "--quiet", *options))
            failures = []
            for proc in procs:
                out, _ = proc.communicate()
                if proc.returncode:
                    failures.append(out.strip()[-2000:])
            duration = time.time() - started
            figures = sandbox.figures()
        runs = sync_runs(db_url)
    finally:
        if not args.keep_db:
            pg_drop(DB_NAME)
    return {
        "budget": budget,
        "workers": len(shares),
        "projects": len(ids),
        "creatives": args.creatives,
        "duration": round(duration, 1),
        "sandbox": figures,
        "sync_runs": {
            "runs": len(runs),
            "succeeded": sum(1 for r in runs if r["status"] == "succeeded"),
            "api_calls": sum(r["api_calls"] for r in runs),
            "throttled": sum(r["throttled"] for r in runs),
            "retries": sum(r["retries"] for r in runs),
            "projects_synced": sum(r["synced"] for r in runs),
        },
        "failures": failures,
    }


def report_line(result: dict) -> str:
    sandbox = result["sandbox"]
    reads = sandbox.get("read-light", {})
    runs = result["sync_runs"]
    return (
        f"{result['budget']:<9} workers {result['workers']}  requests {sandbox['requests']}  "
        f"max in 60 s {reads.get('max_60s', 0)} (limit 120)  429s {sandbox['throttled']}  "
        f"span {sandbox.get('span', 0):.1f} s  duration {result['duration']:.1f} s  |  "
        f"SyncRuns {runs['runs']} ({runs['succeeded']} ok): calls {runs['api_calls']}, "
        f"429s {runs['throttled']}, projects {runs['projects_synced']}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.budget_workers", description=__doc__)
    parser.add_argument("--workers", type=int, default=10)
    parser.add_argument("--projects", type=int, default=20)
    parser.add_argument("--creatives", type=int, default=1000)
    parser.add_argument(
        "--budgets", default="database,redis", help="comma-separated: database, redis, local"
    )
    parser.add_argument("--redis-db", type=int, default=13, help="Redis database of CACHE_URL")
    parser.add_argument("--keep-db", action="store_true", help="leave the database behind")
    parser.add_argument("--json", type=Path, default=WORK / "budget_workers.json")
    args = parser.parse_args(argv)
    random.seed()
    results = []
    for budget in [b.strip() for b in args.budgets.split(",") if b.strip()]:
        result = run_once(args, budget)
        results.append(result)
        print(report_line(result), flush=True)
        for failure in result["failures"]:
            print(f"  worker failed: {failure.splitlines()[-1]}", flush=True)
    WORK.mkdir(exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2))
    print(f"figures: {args.json}")
    return 0 if all(not r["failures"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
