"""How many projects one key keeps within their freshness targets: a simulated clock and a
model of call counts. ``python -m bench.cadence_model [--projects 500] [--hours 24]``.

Nothing is called: the model replays what ``sync_layers`` without arguments does, with the
product's own scheduling code (``specs.MirrorSpec.due``, ``full_walk_due``, the cadences the
settings give, stalest projects first), against a clock that moves by one call's worth of the
budget per call:

* a timer starts a run every ``LAYERS_SYNC_EVERY_MINUTES``; a run still going when the timer
  fires makes it skip (systemd's one-shot service);
* a run walks the projects list when it is due, then reads each project's due kinds, in
  the sync's own order (``most_urgent_first``);
* calls go out at the tier's rate less the headroom kept for people;
* what a read costs: the projects list ``ceil(projects/100) + 1`` pages (the default list and
  the archived ones), content 1 call, the recent read of scored creatives
  ``max(1, ceil((rescored since the last read + overlap) / 100))`` pages plus one page each
  for ``override=include`` and ``override=exclude``, a full walk ``ceil(creatives/100)``
  pages, and one call per configured board.

Rescores are the unknown: the sandbox moves ``scoredAt`` on about 2.5 % of a project's
creatives an hour; C7's "every 4 h" read as "every creative's ``scoredAt`` moves every 4 h"
means 25 % an hour. Both are run. The figures are the age of each kind just before each read
(its worst case) against its target, after a first day that brings the mirror to a steady
state. ``bench/cadence.py`` checks the call counts against the real sync on the sandbox.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from bench.standalone import django_setup

RUN_FOR = timedelta(minutes=10)  # sync.services.RUN_FOR

TIERS = {"standard": 120, "pilot": 60, "scale": 600}
PEOPLE_HEADROOM = 0.10  # share of the budget kept for people's requests
PAGE = 100
OVERLAP = 5  # rows re-read at the bound of a recent read (ties, late writes)
RESCORES = {"sandbox (2.5 %/h)": 0.025, "C7 read as every creative every 4 h": 0.25}


@dataclass
class Figures:
    calls: int = 0
    reads: dict[str, list[float]] = field(default_factory=dict)  # kind -> ages in minutes

    def age(self, kind: str, minutes: float) -> None:
        self.reads.setdefault(kind, []).append(minutes)


def simulate(
    *,
    projects: int,
    creatives: int,
    hours: float,
    rate_per_minute: float,
    rescore: float,
    full_walks: bool = True,
) -> tuple[Figures, dict[str, timedelta]]:
    from creatives.services import leaderboard_configured
    from projects import freshness
    from sync.services import most_urgent_first
    from sync.services.specs import (
        CONTAINERS,
        LEADERBOARDS,
        PROJECT_KINDS,
        PROJECTS,
        SCORED_CREATIVES,
        full_walk_due,
        sync_every,
    )

    rng = random.Random(7)
    start = datetime(2026, 12, 1, tzinfo=UTC)
    every = sync_every()
    call_time = 60 / rate_per_minute
    boards = len(leaderboard_configured())
    warmup = timedelta(hours=24)

    # A steady state to start from: each kind read at a random point within its cadence.
    rows = []
    for n in range(projects):
        row = SimpleNamespace(key=f"p{n:04d}")
        for spec in PROJECT_KINDS:
            back = rng.random() * max(spec.cadence.total_seconds(), 60)
            setattr(row, spec.read_at, start - timedelta(seconds=back))
        row.creatives_full_at = start - timedelta(seconds=rng.random() * 86400)
        rows.append(row)
    listed_at = start - timedelta(seconds=rng.random() * PROJECTS.cadence.total_seconds())

    figures = Figures()
    clock = start
    end = start + warmup + timedelta(hours=hours)

    def spend(calls: int) -> None:
        nonlocal clock
        clock += timedelta(seconds=calls * call_time)
        if clock > start + warmup:
            figures.calls += calls

    def record(kind: str, before: datetime, at: datetime) -> None:
        if at > start + warmup:
            figures.age(kind, (at - before).total_seconds() / 60)

    tick = start
    run_start = None
    while tick < end:
        clock = max(clock, tick)
        run_start = run_start or clock
        if clock - listed_at >= PROJECTS.cadence:
            record("projects", listed_at, clock)
            spend(math.ceil(projects / PAGE) + 1)
            listed_at = clock
        order = sorted(rows, key=most_urgent_first)
        for row in order:
            now = clock
            due = [spec for spec in PROJECT_KINDS if spec.due(row, now)]
            if not due:
                continue
            if CONTAINERS in due:
                spend(1)
            if SCORED_CREATIVES in due:
                if full_walks and full_walk_due(row, now):
                    spend(math.ceil(creatives / PAGE))
                    row.creatives_full_at = now
                else:
                    hours_since = (now - row.creatives_read_at).total_seconds() / 3600
                    changed = creatives * min(1.0, rescore * hours_since) + OVERLAP
                    spend(max(1, math.ceil(changed / PAGE)) + 2)
            if LEADERBOARDS in due:
                spend(boards)
            for spec in due:
                record(spec.kind, getattr(row, spec.read_at), now)
                setattr(row, spec.read_at, now)
        # A run goes on while work has fallen due during it (up to RUN_FOR); then the next run
        # starts at the first timer tick after it finished.
        if clock - run_start < RUN_FOR and any(
            spec.due(row, clock) for row in rows for spec in PROJECT_KINDS
        ):
            tick = clock
            continue
        tick = max(tick + every, start + every * math.ceil((clock - start) / every))
        run_start = None
    targets = {kind.kind: kind.target for kind in (freshness.PROJECT_LIST, *freshness.PER_PROJECT)}
    return figures, targets


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def report(label: str, figures: Figures, targets, *, projects: int, hours: float, limit) -> bool:
    per_hour = figures.calls / hours
    print(
        f"\n{label}: {per_hour:,.0f} calls/hour of {limit * 60:,.0f} for the sync "
        f"({per_hour / projects:.2f} per project per hour)"
    )
    print(
        f"  {'kind':<13} {'reads':>7} {'p50 age':>8} {'p99 age':>8} {'max age':>8} "
        f"{'target':>7} {'over target':>12}"
    )
    ok = True
    for kind, ages in figures.reads.items():
        target = targets[kind].total_seconds() / 60
        over = sum(1 for a in ages if a > target)
        ok = ok and over == 0
        print(
            f"  {kind:<13} {len(ages):>7} {percentile(ages, 0.5):>7.1f}m "
            f"{percentile(ages, 0.99):>7.1f}m {max(ages):>7.1f}m {target:>6.0f}m "
            f"{over:>7} ({over / len(ages):.1%})"
        )
    print(f"  within every target: {'yes' if ok else 'NO'}")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cadence_model", description=__doc__)
    parser.add_argument("--projects", type=int, default=500)
    parser.add_argument("--creatives", type=int, default=2000)
    parser.add_argument("--hours", type=float, default=24)
    parser.add_argument("--tier", choices=sorted(TIERS), default="standard")
    parser.add_argument(
        "--largest", action="store_true", help="Also search the largest count kept fresh."
    )
    args = parser.parse_args(argv)
    django_setup("cadence_model")
    from django.conf import settings

    from creatives.services import leaderboard_configured
    from sync.services.specs import FULL_WALK_MINUTES, PROJECT_KINDS, PROJECTS

    limit = TIERS[args.tier] * (1 - PEOPLE_HEADROOM)
    full_walk = settings.LAYERS_CADENCE_MINUTES.get("ads_content_full", FULL_WALK_MINUTES)
    print(
        f"{args.projects} projects x {args.creatives} creatives, tier {args.tier} "
        f"({limit:.0f} reads/min for the sync), timer every "
        f"{settings.LAYERS_SYNC_EVERY_MINUTES:g} min, cadences: "
        + ", ".join(
            f"{s.kind} {s.cadence.total_seconds() / 60:g}m" for s in (PROJECTS, *PROJECT_KINDS)
        )
        + f", full walk {full_walk}m"
        + f", {len(leaderboard_configured())} boards"
    )
    for label, rescore in RESCORES.items():
        figures, targets = simulate(
            projects=args.projects,
            creatives=args.creatives,
            hours=args.hours,
            rate_per_minute=limit,
            rescore=rescore,
        )
        report(label, figures, targets, projects=args.projects, hours=args.hours, limit=limit)
        if args.largest:
            low, high = 1, args.projects * 2
            while low < high:
                middle = (low + high + 1) // 2
                trial, _ = simulate(
                    projects=middle,
                    creatives=args.creatives,
                    hours=6,
                    rate_per_minute=limit,
                    rescore=rescore,
                )
                fresh = all(
                    max(ages) <= targets[kind].total_seconds() / 60
                    for kind, ages in trial.reads.items()
                )
                low, high = (middle, high) if fresh else (low, middle - 1)
            print(f"  largest number of projects kept within every target: {low}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
