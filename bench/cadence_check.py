"""The cadence model checked against the real sync, in real time, ten times faster.
``python -m bench.cadence_check [--projects 50] [--creatives 200] [--minutes 20]``.

``bench/cadence_model.py`` replays the scheduling code on a simulated clock. Here the real
``layers_sync(due_only=True)`` runs against the sandbox over HTTP, started by a timer, for
``--minutes`` of wall time with every duration divided by ten: cadences (the defaults over
ten), the timer (6 s for a minute), ``RUN_FOR``, and the sandbox's virtual clock advancing a
minute every 6 s (new content, rescores, overrides). The client paces at ``standard``: with
durations ten times shorter, 50 projects load the key as 500 do in product time; full walks
are left out (their daily cadence does not fit a short run, and the model counts their
cost exactly). Every read the sync marks is recorded, and its age (scaled back) compared
with the model's figures for the same projects, rate and rescore rate.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time

import requests

from bench.cadence_model import PEOPLE_HEADROOM, TIERS, percentile, simulate
from bench.standalone import django_setup

SPEED = 10  # wall time runs this many times faster than the product's minutes
TIMER = 60 / SPEED  # seconds between two timer ticks (the 1-minute timer)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cadence_check", description=__doc__)
    parser.add_argument("--projects", type=int, default=50)
    parser.add_argument("--creatives", type=int, default=200)
    parser.add_argument("--minutes", type=float, default=20, help="wall minutes measured")
    parser.add_argument("--warmup", type=float, default=6, help="wall minutes left out first")
    args = parser.parse_args(argv)
    django_setup("cadence_check")
    from django.conf import settings
    from django.core.management import call_command

    import sync.services as sync_services
    from layersadmin.layers import LayersClient
    from sandbox.server import PINNED_NOW, SandboxServer
    from sync.services import layers_sync
    from sync.services.specs import PROJECT_KINDS, PROJECTS

    call_command("migrate", verbosity=0)
    # The product's default cadences, ten times shorter; no full walk within the run.
    cadences = {spec.kind: spec.cadence.total_seconds() / 60 for spec in (PROJECTS, *PROJECT_KINDS)}
    settings.LAYERS_CADENCE_MINUTES = {
        **{kind: minutes / SPEED for kind, minutes in cadences.items()},
        "ads_content_full": 10**6,
    }
    sync_services.RUN_FOR = sync_services.RUN_FOR / SPEED
    rate = TIERS["standard"] * (1 - PEOPLE_HEADROOM)

    reads: list[tuple[str, float]] = []  # (kind, age in product minutes)
    marks = {spec.read_at: spec.kind for spec in PROJECT_KINDS}
    last: dict[tuple[int, str], float] = {}
    measuring = threading.Event()
    original_mark = sync_services._project_mark

    def recording_mark(project, **fields):
        now = time.monotonic()
        for name in fields:
            if name in marks:
                before = last.get((project.pk, name))
                if before is not None and measuring.is_set():
                    reads.append((marks[name], (now - before) * SPEED / 60))
                last[(project.pk, name)] = now
        return original_mark(project, **fields)

    sync_services._project_mark = recording_mark
    with SandboxServer(
        seed=11,
        projects=args.projects,
        creatives_per_project=args.creatives,
        tier="unlimited",
        now=PINNED_NOW,
    ) as server:
        # The first complete read of a new mirror, unpaced.
        fast = LayersClient(base_url=server.base_url, api_key=server.keys["main"], tier="unlimited")
        first = layers_sync(client=fast, full=True)
        assert first.ok, first.errors
        fast.close()
        print(f"first read of the mirror: {first.run.api_calls} calls", flush=True)
        # Paced at tier `standard` (the client's own pacer, shared by its threads' clones):
        # with every duration ten times shorter, a tenth of the projects loads the key as
        # the whole number does in product time.
        client = LayersClient(
            base_url=server.base_url, api_key=server.keys["main"], tier="standard"
        )
        stop = threading.Event()

        def advance():
            while not stop.wait(TIMER):
                requests.post(
                    f"{server.root_url}/_sandbox/advance", json={"hours": 1 / 60}, timeout=60
                )

        mover = threading.Thread(target=advance, daemon=True)
        mover.start()
        started = time.monotonic()
        warm_until = started + args.warmup * 60
        end = warm_until + args.minutes * 60
        calls_at_warm = None
        while time.monotonic() < end:
            tick = time.monotonic()
            if calls_at_warm is None and tick >= warm_until:
                measuring.set()
                calls_at_warm = (client.stats.calls, tick)
            before = client.stats.calls
            result = layers_sync(client=client, due_only=True)
            print(
                f"  run at {tick - started:6.0f} s: {client.stats.calls - before} calls, "
                f"{len(result.synced)} projects, {time.monotonic() - tick:.0f} s",
                file=sys.stderr,
                flush=True,
            )
            if not result.ok:
                print("run errors:", result.errors[:3], file=sys.stderr)
            # The next tick of the timer after this run finished.
            elapsed = time.monotonic() - started
            time.sleep(TIMER - (elapsed % TIMER))
        stop.set()
        calls = client.stats.calls - calls_at_warm[0]
        wall = time.monotonic() - calls_at_warm[1]
        client.close()

    hours = wall * SPEED / 3600
    print(
        f"real sync, {args.projects} projects x {args.creatives}, {args.minutes:g} wall minutes "
        f"= {hours:.1f} product hours: {calls / hours:,.0f} calls/hour "
        f"({calls / hours / args.projects:.2f} per project per hour; "
        f"{calls / (wall / 60):.0f} calls a wall minute)"
    )
    settings.LAYERS_CADENCE_MINUTES = {}  # the model runs on the product's own minutes
    figures, targets = simulate(
        projects=args.projects,
        creatives=args.creatives,
        hours=hours,
        rate_per_minute=rate / SPEED,
        rescore=min(1.0, 60 / args.creatives),  # the sandbox: at least one per advance
        full_walks=False,
    )
    print(
        f"model, the same: {figures.calls / hours:,.0f} calls/hour "
        f"({figures.calls / hours / args.projects:.2f} per project per hour)"
    )
    print(f"  {'kind':<13} {'':>6} {'reads':>6} {'p50':>7} {'p99':>7} {'max':>7} {'target':>7}")
    for kind in ("containers", "ads_content", "leaderboards"):
        real = [age for k, age in reads if k == kind]
        model = figures.reads.get(kind, [])
        target = targets[kind].total_seconds() / 60
        for label, ages in (("real", real), ("model", model)):
            if ages:
                print(
                    f"  {kind:<13} {label:>6} {len(ages):>6} {percentile(ages, 0.5):>6.1f}m "
                    f"{percentile(ages, 0.99):>6.1f}m {max(ages):>6.1f}m {target:>6.0f}m"
                )
    os.environ.pop("DJANGO_SETTINGS_MODULE", None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
