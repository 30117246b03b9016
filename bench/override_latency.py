"""A person's overrides while a full sync keeps the rate budget busy at tier ``standard``.

``python -m bench.override_latency [--projects 12] [--creatives 1500] [--every 3]
[--dbs sqlite,postgres] [--budgets database,redis] [--redis-db 13]``

For each database and shared budget: a fresh database (``bench/.work/override_latency.sqlite3``
or PostgreSQL ``bench_override_latency``, dropped afterwards), one sandbox at ``standard``
that enforces the tier, one API key. First one project is mirrored (``sync_layers --project``)
so that the person has creatives to change. Then two processes start together, as in
production: ``manage.py sync_layers --full`` (reads every project, as fast as the budget lets
it: the budget stays saturated), and a "dashboard" process with its own client
(``get_client()``, as a view gets it) that calls ``creatives.services.creative_override_set``
on a random creative of that project every ``--every`` seconds until the sync has finished.
The customer check's one-minute cache entry is dropped before each override, so every
override makes both of its calls (GET the project: read-light, where the sync is; PATCH the
creative: write-light) -- the worst case.

Per override: its latency end to end (``creative_override_set``, database work included),
the time its client spent in the pacer (``acquire``: the budget's store round trips and any
wait for a token), and in HTTP. The target: no override waits more than 2 s on the budget
behind the sync. The sandbox (in this process, idle otherwise) counts requests and 429s and
gives the read rate during the sync, to show the budget was saturated.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

from bench.budget_workers import (
    PYTHON,
    ROOT,
    WORK,
    RecordingSandbox,
    manage,
    migrate,
    pg_drop,
    pg_fresh,
    sync_runs,
    worker_env,
)

PG_NAME = "bench_override_latency"
TARGET_WAIT = 2.0  # seconds: the most a person may wait on the budget behind a sync
STANDARD_READ_PACE = 114 / 60  # the steady read pace of a standard key (5 % burst kept aside)


# --- the person (a process of its own) -----------------------------------------------------------


def person(opts: dict) -> None:
    """Override a creative of ``opts["project"]`` every ``opts["every"]`` s until the stop file
    exists; write one record per override to ``opts["out"]`` (JSON)."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.cache import cache

    from creatives.models import AdsContent
    from creatives.services import creative_override_set
    from layersadmin.layers import LayersBusy, get_client
    from projects.models import Project

    user, _ = get_user_model().objects.get_or_create(username="bench-person")
    project = Project.objects.get(layers_id=opts["project"])
    ids = list(
        AdsContent.objects.filter(project=project, is_gone=False).values_list("pk", flat=True)
    )
    client = get_client()  # its own client and pacer, on the shared budget
    pacer, session = client.pacer, client._session
    current: dict[str, list] = {"acquire": [], "http": []}

    def timed(name, func):
        def wrapper(*args, **kwargs):
            started = time.monotonic()
            try:
                return func(*args, **kwargs)
            finally:
                current[name].append((args[0] if args else "", time.monotonic() - started))

        return wrapper

    pacer.acquire = timed("acquire", pacer.acquire)
    session.request = timed("http", session.request)
    rng = random.Random(opts["seed"])
    stop = Path(opts["stop"])
    records = []
    started = time.monotonic()
    for tick in range(10_000):
        moment = started + tick * opts["every"]
        if stop.exists() or time.monotonic() - started > opts["limit"]:
            break
        time.sleep(max(0.0, moment - time.monotonic()))
        row = AdsContent.objects.get(pk=rng.choice(ids))
        override = rng.choice([v for v in ("include", "exclude", "") if v != row.override])
        ours = (project.customer_external_id or "").strip()
        cache.delete(f"layers:customer-ok:{project.layers_id}:{ours}")  # the worst case
        current["acquire"].clear()
        current["http"].clear()
        wall, begun = time.time(), time.monotonic()
        outcome = "ok"
        try:
            creative_override_set(
                ads_content=row,
                user=user,
                override=override,
                note=f"bench override {tick}",
                form_token=f"bench-{tick}-{begun}",
                client=client,
            )
        except LayersBusy as exc:
            outcome = f"busy ({exc.retry_after} s)"
        except Exception as exc:  # recorded, the run goes on
            outcome = f"{type(exc).__name__}: {str(exc)[:200]}"
        latency = time.monotonic() - begun
        records.append(
            {
                "wall": wall,
                "latency": latency,
                "budget": sum(s for _, s in current["acquire"]),
                "budget_by_class": [[c, s] for c, s in current["acquire"]],
                "http": sum(s for _, s in current["http"]),
                "calls": len(current["http"]),
                "outcome": outcome,
            }
        )
    client.close()
    Path(opts["out"]).write_text(json.dumps(records))


# --- one run -------------------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (``share`` in 0..1)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered) + 0.5) - 1))]


def summary(values: list[float]) -> dict:
    return {
        "p50": percentile(values, 0.50),
        "p95": percentile(values, 0.95),
        "max": max(values) if values else float("nan"),
    }


def sqlite_fresh() -> str:
    WORK.mkdir(exist_ok=True)
    path = WORK / "override_latency.sqlite3"
    sqlite_drop(path)
    return f"sqlite:///{path}"


def sqlite_drop(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def run_once(args, db: str, budget: str) -> dict:
    cache_url = f"redis://127.0.0.1:6379/{args.redis_db}" if budget == "redis" else ""
    db_url = pg_fresh(PG_NAME) if db == "postgres" else sqlite_fresh()
    stop = WORK / f"override_latency.{os.getpid()}.stop"
    out = WORK / f"override_latency.{os.getpid()}.json"
    stop.unlink(missing_ok=True)
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
            store = sandbox.server.store
            mine = next(pid for pid in ids if not store.projects[pid].archived)
            first = manage(env, "sync_layers", "--project", mine, "--quiet")
            text, _ = first.communicate()
            if first.returncode:
                raise RuntimeError(f"the first sync failed:\n{text}")
            opts = {
                "project": mine,
                "every": args.every,
                "stop": str(stop),
                "out": str(out),
                "seed": 7,
                "limit": 1800,
            }
            sandbox.clear()
            sync_started = time.time()
            sync = manage(env, "sync_layers", "--full", "--quiet")
            dashboard = subprocess.Popen(
                [PYTHON, "-m", "bench.override_latency", "--person", json.dumps(opts)],
                cwd=ROOT,
                env=env,
            )
            sync_out, _ = sync.communicate()
            sync_ended = time.time()
            stop.touch()
            dashboard.wait()
            figures = sandbox.figures()
        runs = sync_runs(db_url)
        records = json.loads(out.read_text()) if out.exists() else []
    finally:
        stop.unlink(missing_ok=True)
        out.unlink(missing_ok=True)
        if db == "postgres":
            pg_drop(PG_NAME)
        else:
            sqlite_drop(Path(db_url[len("sqlite:///") :]))
    during = [r for r in records if r["wall"] <= sync_ended]
    ok = [r for r in during if r["outcome"] == "ok"]
    sync_seconds = sync_ended - sync_started
    full_run = runs[-1] if runs else {}
    return {
        "db": db,
        "budget": budget,
        "sync_seconds": round(sync_seconds, 1),
        "sync_ok": sync.returncode == 0,
        "sync_output": sync_out.strip()[-1000:],
        "sync_run": full_run,
        "sandbox": figures,
        "read_rate": figures.get("read-light", {}).get("requests", 0) / max(sync_seconds, 1e-9),
        "overrides": len(during),
        "ok": len(ok),
        "failed": [r["outcome"] for r in during if r["outcome"] != "ok"],
        "latency": summary([r["latency"] for r in during]),
        "budget_wait": summary([r["budget"] for r in during]),
        "read_wait": summary(
            [sum(s for c, s in r["budget_by_class"] if c == "read-light") for r in during]
        ),
        "http": summary([r["http"] for r in during]),
        "over_target": sum(1 for r in during if r["budget"] > TARGET_WAIT),
        "records": during,
    }


def report_line(r: dict) -> str:
    ms = lambda s: f"{s['p50'] * 1000:.0f}/{s['p95'] * 1000:.0f}/{s['max'] * 1000:.0f}"  # noqa: E731
    reads = r["sandbox"].get("read-light", {})
    return (
        f"{r['db']:<8} {r['budget']:<8} overrides {r['ok']}/{r['overrides']} ok  "
        f"latency p50/p95/max {ms(r['latency'])} ms  budget wait {ms(r['budget_wait'])} ms  "
        f"(> {TARGET_WAIT:.0f} s: {r['over_target']})  http {ms(r['http'])} ms  |  sync "
        f"{r['sync_seconds']:.0f} s, {reads.get('requests', 0)} reads "
        f"({r['read_rate']:.2f}/s of {STANDARD_READ_PACE:.2f}), max in 60 s "
        f"{reads.get('max_60s', 0)}, 429s {r['sandbox']['throttled']}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.override_latency", description=__doc__)
    parser.add_argument("--projects", type=int, default=12)
    parser.add_argument("--creatives", type=int, default=1500)
    parser.add_argument("--every", type=float, default=3.0, help="seconds between overrides")
    parser.add_argument("--dbs", default="sqlite,postgres")
    parser.add_argument("--budgets", default="database,redis")
    parser.add_argument("--redis-db", type=int, default=13, help="Redis database of CACHE_URL")
    parser.add_argument("--json", type=Path, default=WORK / "override_latency.json")
    parser.add_argument("--person", help=argparse.SUPPRESS)  # the dashboard process
    args = parser.parse_args(argv)
    if args.person:
        person(json.loads(args.person))
        return 0
    results = []
    for db in [d.strip() for d in args.dbs.split(",") if d.strip()]:
        for budget in [b.strip() for b in args.budgets.split(",") if b.strip()]:
            result = run_once(args, db, budget)
            results.append(result)
            print(report_line(result), flush=True)
            if not result["sync_ok"]:
                print(f"  the sync failed: {result['sync_output']}", flush=True)
            for failure in sorted(set(result["failed"])):
                print(f"  override failed: {failure}", flush=True)
    WORK.mkdir(exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2))
    print(f"figures: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
