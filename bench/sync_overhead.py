"""What a full sync costs beyond reading the API (issue 14): ``python -m bench.sync_overhead
[--db sqlite|postgres|both] [--projects 10] [--creatives 2000] [--runs 3] [--profile]``.

Two sides, on the same warmed sandbox (its own process, tier ``unlimited``), ``--runs`` times
each, interleaved (the side that goes first alternates), medians reported:

* **bare fetch**: the API calls a full sync of an empty mirror makes, with the same client,
  the same threads, and nothing written: both project lists, then per project (in the
  sync's order) its leaderboards started on a background thread with a client of its own,
  the content and scored-creatives lists walked on a prefetch thread (``prefetch.ahead``)
  with a clone each, the boards collected at the end. Pages are decoded, not mapped.
* **full sync**: ``layers_sync(full=True)`` into a freshly flushed database.

Both sides must make the same number of calls (checked). The target is a full sync at most
1.25 times the bare fetch. Each database runs in a process of its own with production-like
settings (``DEBUG=false``, as ``make bench``): SQLite in ``bench/.work/sync_overhead.sqlite3``,
PostgreSQL in a database ``bench_sync_overhead`` (``BENCH_PG_URL``, default the local server),
dropped at the end. ``--profile`` adds one profiled full sync per database (pyinstrument, the
caller's thread) to ``bench/.work/profiles/sync_overhead_<db>.txt`` and ``.html``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bench.config import API_KEY, PYTHON, ROOT, SECRET_KEY
from bench.dbs import pg_server_url

WORK = ROOT / "bench" / ".work"
PG_NAME = "bench_sync_overhead"
TARGET = 1.25


# --- the two sides (in the child process, Django set up) ---------------------------------------


def bare_fetch(client) -> dict:
    """Every call of a full sync of an empty mirror, nothing mapped or written."""
    from creatives.services import leaderboard_configured
    from sync.services.prefetch import Background, ahead

    pages = items = 0
    client.ensure_tier()
    project_ids: set[str] = set()
    for status in (None, "archived"):
        for page in client.projects_pages(status=status):
            pages += 1
            items += len(page.items)
            project_ids.update(item["id"] for item in page.items if item.get("id"))
    for project_id in sorted(project_ids):
        boards_client = client.clone()
        background = Background("bare-boards")
        answers = [
            background.submit(
                boards_client.top_performers, project_id, metric=metric, window=window
            )
            for metric, window in leaderboard_configured()
        ]
        for walk in ("content_pages", "ads_content_pages"):
            walker = client.clone()
            for page in ahead(getattr(walker, walk)(project_id), lambda page: page, name="bare"):
                pages += 1
                items += len(page.items)
            walker.close()
        for answer in answers:
            answer.result()
        background.close()
        boards_client.close()
    return {"pages": pages, "items": items}


def full_sync(client) -> dict:
    from sync.services import layers_sync

    result = layers_sync(full=True, client=client, trigger="bench")
    if not result.ok:
        raise RuntimeError(f"the full sync failed: {result.errors[:3]}")
    return {"rows_written": result.rows_written}


def timed(side: str, profile: Path | None = None) -> dict:
    from layersadmin.layers import get_client

    client = get_client(tier="unlimited")
    gc.collect()
    profiler = None
    if profile is not None:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.001)
        profiler.start()
    started, cpu = time.perf_counter(), time.process_time()
    figures = (bare_fetch if side == "bare" else full_sync)(client)
    figures["wall_s"] = time.perf_counter() - started
    figures["cpu_s"] = time.process_time() - cpu
    if profiler is not None:
        profiler.stop()
        profile.parent.mkdir(parents=True, exist_ok=True)
        profile.with_suffix(".html").write_text(profiler.output_html())
        profile.with_suffix(".txt").write_text(profiler.output_text(unicode=True, color=False))
    figures["api_calls"] = client.stats.calls
    client.close()
    return figures


def flush() -> None:
    from django.core.management import call_command

    call_command("flush", interactive=False, verbosity=0)


def child(args: argparse.Namespace) -> int:
    """One database: migrate, then the interleaved runs; figures as JSON on stdout's last
    line."""
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    runs: dict[str, list[dict]] = {"bare": [], "sync": []}
    for index in range(args.runs):
        order = ("bare", "sync") if index % 2 == 0 else ("sync", "bare")
        for side in order:
            if side == "sync":
                flush()
            figures = timed(side)
            runs[side].append(figures)
            wall = figures["wall_s"]
            print(f"  {args.db:<8} run {index + 1} {side:<4} {wall:6.2f} s", flush=True)
    if args.profile:
        flush()
        timed("sync", WORK / "profiles" / f"sync_overhead_{args.db}")
    print(json.dumps(runs))
    return 0


# --- the parent: the sandbox, the databases, the table ------------------------------------------


def _with_db(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, ""))


def _pg_admin(statement: str) -> None:
    import psycopg

    parts = urlsplit(pg_server_url())
    with psycopg.connect(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
        user=parts.username or "postgres",
        password=parts.password or None,
        dbname="postgres",
        autocommit=True,
    ) as conn:
        conn.execute(statement)


def database_url(engine: str) -> str:
    """A new, empty database for ``engine``."""
    if engine == "postgres":
        _pg_admin(f"DROP DATABASE IF EXISTS {PG_NAME} WITH (FORCE)")
        _pg_admin(f"CREATE DATABASE {PG_NAME}")
        return _with_db(pg_server_url(), PG_NAME)
    WORK.mkdir(exist_ok=True)
    path = WORK / "sync_overhead.sqlite3"
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return f"sqlite:///{path}"


def database_drop(engine: str) -> None:
    if engine == "postgres":
        _pg_admin(f"DROP DATABASE IF EXISTS {PG_NAME} WITH (FORCE)")


def child_env(db_url: str, base_url: str) -> dict[str, str]:
    """As ``make bench``'s workers: production-like settings, the sandbox's key."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "LAYERS_"))}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "layersadmin.settings",
            "DATABASE_URL": db_url,
            "DEBUG": "false",
            "SECRET_KEY": SECRET_KEY,
            "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
            "SECURE_SSL_REDIRECT": "false",
            "LAYERS_API_BASE_URL": base_url,
            "LAYERS_API_KEY": API_KEY,
            "LAYERS_API_TIER": "unlimited",
            "LAYERS_RATE_BUDGET": "local",
            "LOG_LEVEL": "WARNING",
            "CACHE_URL": "locmemcache://bench",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def measure(engine: str, base_url: str, args: argparse.Namespace) -> dict:
    db_url = database_url(engine)
    cmd = [PYTHON, "-m", "bench.sync_overhead", "--child", "--db", engine]
    cmd += ["--runs", str(args.runs)] + (["--profile"] if args.profile else [])
    try:
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env=child_env(db_url, base_url), stdout=subprocess.PIPE, text=True
        )
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if not line.startswith("{"):
                print(line, end="", flush=True)
        if proc.wait() != 0:
            raise RuntimeError(f"the {engine} run failed (exit {proc.returncode})")
    finally:
        database_drop(engine)
    runs = json.loads(lines[-1])
    bare = statistics.median(run["wall_s"] for run in runs["bare"])
    sync = statistics.median(run["wall_s"] for run in runs["sync"])
    calls = {side: {run["api_calls"] for run in runs[side]} for side in runs}
    if calls["bare"] != calls["sync"] or len(calls["sync"]) != 1:
        raise RuntimeError(f"the two sides made different calls: {calls}")
    return {
        "bare_s": bare,
        "sync_s": sync,
        "ratio": sync / bare,
        "api_calls": calls["sync"].pop(),
        "rows_written": runs["sync"][0]["rows_written"],
        "bare_cpu_s": statistics.median(run["cpu_s"] for run in runs["bare"]),
        "sync_cpu_s": statistics.median(run["cpu_s"] for run in runs["sync"]),
        "runs": runs,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sync_overhead", description=__doc__)
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--projects", type=int, default=10)
    parser.add_argument("--creatives", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--json", help="write every figure here too")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args)

    from bench.sandbox_proc import SandboxProcess

    engines = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    results = {}
    with SandboxProcess(projects=args.projects, creatives=args.creatives) as sandbox:
        sandbox.warm()
        for engine in engines:
            results[engine] = measure(engine, sandbox.base_url, args)
    print(
        f"\n{args.projects} projects x {args.creatives} creatives, tier unlimited, "
        f"median of {args.runs}"
    )
    print(f"{'db':<9} {'bare fetch':>11} {'full sync':>10} {'ratio':>6} {'calls':>6} {'rows':>7}")
    for engine, r in results.items():
        verdict = "met" if r["ratio"] <= TARGET else "NOT met"
        print(
            f"{engine:<9} {r['bare_s']:>9.2f} s {r['sync_s']:>8.2f} s {r['ratio']:>5.2f}x "
            f"{r['api_calls']:>6} {r['rows_written']:>7}   ({verdict}: <= {TARGET}x)"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
