"""``python -m bench``: every measure of issue 7, a table, and bench/results.json."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from bench.config import DEFAULT_JSON, DEFAULT_WORK_DIR, SCALES
from bench.report import evaluate, render
from bench.runner import BenchError, Runner

STEPS = ("naive", "pages", "latency", "load", "memory", "tier")


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    ap.add_argument("--scale", choices=sorted(SCALES), default="full")
    ap.add_argument(
        "--db",
        choices=("both", "sqlite", "postgres", "auto"),
        default="both",
        help="auto: PostgreSQL when DATABASE_URL is a PostgreSQL URL, else SQLite",
    )
    ap.add_argument("--skip", action="append", default=[], choices=STEPS, help="repeatable")
    ap.add_argument("--json", default=str(DEFAULT_JSON), help="where to write the figures")
    ap.add_argument("--work-dir", default=str(DEFAULT_WORK_DIR), help="databases, logs, profiles")
    ap.add_argument("--load-seconds", type=float, default=None, help="override the scale's")
    ap.add_argument("--naive-projects", type=int, default=None, help="override the scale's")
    ap.add_argument(
        "--pg-prefix",
        default="layersadmin_bench",
        help="PostgreSQL database names start with this",
    )
    ap.add_argument(
        "--profile",
        action="store_true",
        help="pyinstrument profiles of the full sync and the pages (work dir/profiles)",
    )
    return ap


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.db == "both":
        engines = ["sqlite", "postgres"]
    elif args.db == "auto":
        url = os.environ.get("DATABASE_URL", "")
        engines = ["postgres" if url.startswith(("postgres", "pgsql")) else "sqlite"]
    else:
        engines = [args.db]
    runner = Runner(
        scale=SCALES[args.scale],
        engines=engines,
        work_dir=Path(args.work_dir),
        skip=set(args.skip),
        profile=args.profile,
        pg_prefix=args.pg_prefix,
        load_seconds=args.load_seconds,
        naive_projects=args.naive_projects,
    )
    try:
        results = runner.run()
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    results["targets"] = evaluate(results)
    path = Path(args.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print()
    print(render(results))
    print(f"\nFigures written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
