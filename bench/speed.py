"""``python -m bench.speed``: issue 16's speed figures, at full scale, on SQLite and PostgreSQL.

Per database: the 200,000-row mirror of ``make bench`` (50 projects x 2,000 containers and
2,000 scored creatives; full sync, an hour's advance, the incremental sync), then

* every dashboard page (``bench.speed_pages``): median and p95 server time through one
  gunicorn worker, SQL queries, HTML bytes and rows shown, bytes per 50 rows;
* the load (``bench.load``): gunicorn as ``bench.config`` sets it (``LOAD_WORKERS`` x
  ``LOAD_THREADS``), an open-loop client on the same two cores, the highest rate held for the
  full run with p95 within ``LOAD_P95_MS`` and no error.

The mirror is kept in the work folder (``--reuse`` measures it again without the sync: a
minute or two saved per database; migrations are applied first). The targets (issue 16):
every page p95 <= 20 ms, <= 60 KB per 50 rows, >= 150 req/s at p95 <= 100 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.config import (
    ADVANCE_HOURS,
    HTML_PER_50_ROWS_TARGET_KB,
    LOAD_P95_MS,
    LOAD_TARGET_RPS,
    LOAD_THREADS,
    LOAD_WORKERS,
    PAGE_P95_TARGET_MS,
    ROOT,
    SCALES,
)
from bench.dbs import PostgresDatabases, SqliteDatabases
from bench.runner import BenchError, Runner, git_commit, machine_info, say
from bench.sandbox_proc import SandboxProcess

DEFAULT_WORK_DIR = ROOT / "bench" / ".work" / "speed"
ENGINE_LABELS = {"sqlite": "SQLite", "postgres": "PostgreSQL"}


def _exists(dbs, name: str) -> bool:
    if isinstance(dbs, SqliteDatabases):
        return dbs.path(name).exists()
    assert isinstance(dbs, PostgresDatabases)
    with dbs._admin() as conn:
        row = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [dbs.db_name(name)]
        ).fetchone()
    return row is not None


def run_engine(runner: Runner, engine: str, args: argparse.Namespace) -> dict[str, Any]:
    scale = runner.scale
    dbs = runner.databases(engine)
    result: dict[str, Any] = {"engine": engine, "version": dbs.version()}
    log = runner.work_dir / "logs" / f"{engine}-sandbox.log"
    with SandboxProcess(projects=scale.projects, creatives=scale.creatives, log_path=log) as box:
        say(f"{engine}: sandbox {scale.projects} x {scale.creatives}, generating")
        box.warm()
        main = dbs.url("main")
        if args.reuse and _exists(dbs, "main"):
            say(f"{engine}: reusing the mirror, migrating it")
            runner.worker("migrate", f"{engine}-migrate-main", main)
            runner.worker("analyze", f"{engine}-analyze-main", main)
            result["mirror"] = "reused"
        else:
            say(f"{engine}: building the mirror (full sync, advance, incremental sync)")
            runner.worker("migrate", f"{engine}-migrate", dbs.make_template())
            main = dbs.fresh("main")
            dbs.drop("template")
            full = runner.sync_step(box, "sync", f"{engine}-full-sync", main)
            box.advance(ADVANCE_HOURS)
            incremental = runner.sync_step(box, "sync", f"{engine}-incremental", main)
            if not (full["ok"] and incremental["ok"]):
                raise BenchError(f"{engine}: the sync failed: {full['errors']}")
            result["mirror"] = {"rows": full["rows"], "tables": incremental["tables_after"]}
        logs = runner.work_dir / "logs" / engine
        logs.mkdir(parents=True, exist_ok=True)
        if not args.skip_pages:
            say(f"{engine}: every dashboard page, {args.reps} requests each")
            profile_dir = ""
            if args.profile:
                profile_dir = str(runner.work_dir / "profiles" / engine)
                Path(profile_dir).mkdir(parents=True, exist_ok=True)
            result["pages"] = runner.worker(
                "speed_pages", f"{engine}-speed-pages", main, box.base_url,
                {"reps": args.reps, "log_dir": str(logs), "profile_dir": profile_dir,
                 "only": args.page or None},
            )  # fmt: skip
        if not args.skip_load:
            say(
                f"{engine}: load, gunicorn {args.workers} x {args.threads}, "
                f"{args.load_seconds:g} s at the held rate"
            )
            result["load"] = runner.worker(
                "load", f"{engine}-speed-load", main, box.base_url,
                {"seconds": args.load_seconds, "probe_seconds": scale.probe_seconds,
                 "log": str(logs / "load-gunicorn.log"), "workers": args.workers,
                 "threads": args.threads, "overview": True},
            )  # fmt: skip
    return result


def _n(value: Any, digits: int = 1) -> str:
    if value is None:
        return "–"
    return f"{value:,.{digits}f}"


def render(results: dict[str, Any]) -> str:
    lines = [
        f"bench.speed {results['meta']['date']}  git {results['meta']['git']}  "
        f"load average at start {results['meta']['load_average_start'][0]:.2f}",
    ]
    for engine, db in results["databases"].items():
        lines.append("")
        lines.append(f"{ENGINE_LABELS[engine]} {db['version']}")
        pages = (db.get("pages") or {}).get("pages") or {}
        if pages:
            lines.append(
                f"  {'page':<36}{'median':>8}{'p95':>8}{'queries':>8}{'KB':>8}{'rows':>6}"
                f"{'KB/50 rows':>11}"
            )
            for page in pages.values():
                per50 = page.get("bytes_per_50_rows")
                lines.append(
                    f"  {page['label']:<36}{_n(page['median_ms']):>8}{_n(page['p95_ms']):>8}"
                    f"{page['queries']:>8}{_n(page['bytes'] / 1024):>8}"
                    f"{page['rows'] if page['rows'] is not None else '–':>6}"
                    f"{_n(per50 / 1024 if per50 else None):>11}"
                )
        load = db.get("load")
        if load:
            final = load["final"]
            lines.append(
                f"  load ({load['workers']} workers x {load.get('threads', 1)} threads): held "
                f"{load['held_rps']:.1f} req/s (target {final['target_rps']:.1f}), p50 "
                f"{final['p50_ms']:.0f} / p95 {final['p95_ms']:.0f} ms, "
                f"{final['errors']} errors, bound {load['p95_bound_ms']:g} ms"
            )
    lines.append("")
    lines.append(
        f"Targets: p95 <= {PAGE_P95_TARGET_MS:g} ms, <= {HTML_PER_50_ROWS_TARGET_KB:g} KB per 50 "
        f"rows, >= {LOAD_TARGET_RPS:g} req/s at p95 <= {LOAD_P95_MS:g} ms"
    )
    for line in evaluate(results):
        lines.append(f"  {'met   ' if line['met'] else 'MISSED'} {line['db']:<10} {line['what']}")
    return "\n".join(lines)


def evaluate(results: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for engine, db in results["databases"].items():
        pages = (db.get("pages") or {}).get("pages") or {}
        for name, page in pages.items():
            out.append(
                {
                    "db": engine,
                    "what": f"{name} p95 {page['p95_ms']:.1f} ms",
                    "met": page["p95_ms"] <= PAGE_P95_TARGET_MS,
                }
            )
            per50 = page.get("bytes_per_50_rows")
            if per50:
                out.append(
                    {
                        "db": engine,
                        "what": f"{name} {per50 / 1024:.1f} KB per 50 rows",
                        "met": per50 / 1024 <= HTML_PER_50_ROWS_TARGET_KB,
                    }
                )
        load = db.get("load")
        if load:
            out.append(
                {
                    "db": engine,
                    "what": f"load {load['held_rps']:.1f} req/s at p95 <= {load['p95_bound_ms']:g}",
                    "met": bool(load["met"]) and load["held_rps"] >= LOAD_TARGET_RPS,
                }
            )
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.speed", description=__doc__)
    ap.add_argument("--db", choices=("both", "sqlite", "postgres"), default="both")
    ap.add_argument("--scale", choices=sorted(SCALES), default="full")
    ap.add_argument("--reuse", action="store_true", help="measure the kept mirror again")
    ap.add_argument("--reps", type=int, default=60, help="timed requests per page")
    ap.add_argument("--page", action="append", default=[], help="only these pages (repeatable)")
    ap.add_argument("--skip-pages", action="store_true")
    ap.add_argument("--skip-load", action="store_true")
    ap.add_argument("--load-seconds", type=float, default=60)
    ap.add_argument("--workers", type=int, default=LOAD_WORKERS)
    ap.add_argument("--threads", type=int, default=LOAD_THREADS)
    ap.add_argument("--profile", action="store_true", help="cProfile each page (work dir)")
    ap.add_argument("--work-dir", default=str(DEFAULT_WORK_DIR))
    ap.add_argument("--pg-prefix", default="layersadmin_speed", help="PostgreSQL database names")
    ap.add_argument("--json", default="", help="where to write the figures (default: work dir)")
    args = ap.parse_args(argv)
    engines = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    runner = Runner(
        scale=SCALES[args.scale],
        engines=engines,
        work_dir=Path(args.work_dir),
        skip=set(),
        profile=False,
        pg_prefix=args.pg_prefix,
        load_seconds=args.load_seconds,
        naive_projects=None,
    )
    results: dict[str, Any] = {
        "meta": {
            "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "command": "python -m bench.speed " + " ".join(sys.argv[1:] if argv is None else argv),
            "git": git_commit(),
            "machine": machine_info(),
            "load_average_start": list(os.getloadavg()),
        },
        "databases": {},
    }
    started = time.time()
    try:
        for engine in engines:
            results["databases"][engine] = run_engine(runner, engine, args)
    except BenchError as exc:
        print(f"bench.speed: {exc}", file=sys.stderr)
        return 1
    results["meta"]["load_average_end"] = list(os.getloadavg())
    results["meta"]["duration_s"] = time.time() - started
    results["targets"] = evaluate(results)
    path = Path(args.json) if args.json else Path(args.work_dir) / "speed.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print()
    print(render(results))
    print(f"\nFigures written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
