"""Targets (issue 7) checked against the figures, and the table printed at the end of a run."""

from __future__ import annotations

import math
from typing import Any

from bench.config import LOAD_P95_MS, LOAD_TARGET_RPS

ENGINE_LABELS = {"sqlite": "SQLite", "postgres": "PostgreSQL"}
FAST_PAGES = ("gallery_first", "gallery_deep", "leaderboard", "creatives")
CACHED_GET_PAGES = (
    "projects",
    "gallery_first",
    "gallery_deep",
    "leaderboard",
    "creatives",
    "agency_leaderboard",
)
MEMORY_FLAT_FACTOR = 1.5  # the larger run's peak may be at most this many times the smaller's


def _get(data: Any, *path: str, default=None):
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return default
        data = data[key]
    return data


def naive_ratio(db: dict) -> float | None:
    naive = _get(db, "naive", "rows_per_s")
    sync = _get(db, "subset_sync", "rows_per_s")
    return sync / naive if naive and sync else None


def memory_growth(db: dict) -> tuple[float | None, float | None]:
    """(peak ratio, rows ratio) between the largest and the smallest memory run."""
    runs = db.get("memory") or []
    if len(runs) < 2:
        return None, None
    small, large = runs[0], runs[-1]
    if not small.get("tracemalloc_peak_kb") or not small.get("rows"):
        return None, None
    return (
        large["tracemalloc_peak_kb"] / small["tracemalloc_peak_kb"],
        large["rows"] / small["rows"],
    )


def evaluate(results: dict) -> list[dict[str, Any]]:
    """One line per target and database: value, bound, met (True/False/None = not measured)."""
    targets: list[dict[str, Any]] = []

    def add(name: str, engine: str, value, bound: str, met, why: str = "") -> None:
        targets.append(
            {"target": name, "db": engine, "value": value, "bound": bound, "met": met, "why": why}
        )

    for engine, db in results.get("databases", {}).items():
        full = db.get("full_sync") or {}
        add("Full sync rows/s", engine, full.get("rows_per_s"), ">= 3000",
            full.get("rows_per_s", 0) >= 3000 and bool(full.get("ok")))  # fmt: skip
        ratio = naive_ratio(db)
        add("Sync vs naive (same data)", engine, ratio, ">= 10x",
            None if ratio is None else ratio >= 10)  # fmt: skip
        resync = db.get("resync") or {}
        touched = sum((resync.get("db_rows_touched") or {}).values())
        same_tables = resync.get("tables_before") == resync.get("tables_after")
        add("No-change re-sync writes 0 rows", engine, resync.get("rows_written"), "== 0",
            resync.get("rows_written") == 0 and touched == 0 and same_tables
            if resync else None)  # fmt: skip
        pages = _get(db, "pages", "pages") or {}
        for name in FAST_PAGES:
            p95 = _get(pages, name, "cached", "p95_ms")
            add(f"{name} p95 (ms)", engine, p95, "<= 50", None if p95 is None else p95 <= 50)
        queries = _get(db, "pages", "gallery_queries_first_vs_deep")
        if queries:
            add("Gallery queries: first page = deep page", engine, queries, "equal",
                queries[0] == queries[1])  # fmt: skip
        for name in CACHED_GET_PAGES:
            ratio = _get(pages, name, "ratio_median")
            add(f"{name}: pass-through / cached", engine, ratio, ">= 10x",
                None if ratio is None else ratio >= 10)  # fmt: skip
        growth, rows = memory_growth(db)
        add("Sync memory flat (tracemalloc peak ratio)", engine, growth,
            f"<= {MEMORY_FLAT_FACTOR}x while rows grow {rows or 0:.0f}x",
            None if growth is None else growth <= MEMORY_FLAT_FACTOR)  # fmt: skip
        load = db.get("load")
        if load:
            bound = load.get("p95_bound_ms", LOAD_P95_MS)
            held = load.get("held_rps") or 0.0
            met = bool(load.get("met")) and held >= LOAD_TARGET_RPS
            add(f"Load: held rate with p95 <= {bound:g} ms, 0 errors", engine, held,
                f">= {LOAD_TARGET_RPS:g}", met)  # fmt: skip

    tier = results.get("tier")
    if tier:
        use = tier.get("budget_use")
        meaningful = tier.get("meaningful")
        add("Standard tier: budget use (%)", tier["engine"],
            None if use is None else use * 100, ">= 90 %",
            (use >= 0.9) if meaningful and use is not None else None,
            "" if meaningful else "too few calls at this scale: they fit in the burst")  # fmt: skip
        add("Standard tier: 429s", tier["engine"], tier.get("throttled_429"), "== 0",
            tier.get("throttled_429") == 0)  # fmt: skip
    return targets


# --- the table ----------------------------------------------------------------------------------


def _n(value, digits: int = 0, suffix: str = "") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, (int, float)):
        return f"{value:,.{digits}f}{suffix}"
    return str(value)


def _mark(met) -> str:
    return {True: "met", False: "MISSED", None: "–"}[met]


def render(results: dict) -> str:
    dbs = results.get("databases", {})
    engines = list(dbs)
    meta = results.get("meta", {})
    scale = meta.get("scale", {})
    machine = meta.get("machine", {})
    width = 52
    col = 16
    lines: list[str] = []

    def head(title: str) -> None:
        lines.append("")
        lines.append(title)
        lines.append(" " * width + "".join(f"{ENGINE_LABELS.get(e, e):>{col}}" for e in engines))

    def row(label: str, values: list[str]) -> None:
        lines.append(f"  {label:<{width - 2}}" + "".join(f"{v:>{col}}" for v in values))

    rows_total = scale.get("projects", 0) * scale.get("creatives", 0) * 2
    lines.append(
        f"layersadmin benchmarks, scale {scale.get('name')}: {scale.get('projects')} projects x "
        f"{scale.get('creatives'):,} containers + {scale.get('creatives'):,} scored creatives "
        f"({rows_total:,} rows)"
    )
    versions = ", ".join(f"{ENGINE_LABELS.get(e, e)} {dbs[e].get('version')}" for e in engines)
    lines.append(
        f"{meta.get('date')}  {machine.get('cores')} cores {machine.get('cpu')}, "
        f"Python {machine.get('python')}, {versions}"
    )
    lines.append(f"command: {meta.get('command')}   git {meta.get('git')}")
    load_start = meta.get("load_average_start") or []
    if load_start:
        lines.append(f"load average at start: {load_start[0]:.2f}")

    head("1. Full sync (tier unlimited, no added latency)")
    row(
        "rows (containers + scored creatives)",
        [_n(_get(dbs[e], "full_sync", "rows")) for e in engines],
    )
    row("wall time (s)", [_n(_get(dbs[e], "full_sync", "wall_s"), 1) for e in engines])
    row("rows/s  [target >= 3,000]", [_n(_get(dbs[e], "full_sync", "rows_per_s")) for e in engines])
    row("API calls", [_n(_get(dbs[e], "full_sync", "api_calls")) for e in engines])
    row("CPU: sync process / sandbox serving it (s)", [
        f"{_n(_get(dbs[e], 'full_sync', 'cpu_s'), 1)} / "
        f"{_n(_get(dbs[e], 'full_sync', 'sandbox_cpu_s'), 1)}" for e in engines
    ])  # fmt: skip
    row(
        "peak RSS of the sync process (MB)",
        [_n(_get(dbs[e], "full_sync", "rss_peak_mb")) for e in engines],
    )
    naive_n = meta.get("naive_projects")
    row(f"naive: {naive_n} projects, rows", [_n(_get(dbs[e], "naive", "rows")) for e in engines])
    row("naive rows/s", [_n(_get(dbs[e], "naive", "rows_per_s")) for e in engines])
    row(
        "sync of the same projects, rows/s (median run)",
        [_n(_get(dbs[e], "subset_sync", "rows_per_s")) for e in engines],
    )
    runs = [_get(dbs[e], "subset_sync", "runs_rows_per_s") or [] for e in engines]
    row("  its runs, rows/s", ["/".join(f"{v / 1000:.1f}k" for v in r) or "–" for r in runs])
    row("sync / naive  [target >= 10x]", [_n(naive_ratio(dbs[e]), 1, "x") for e in engines])

    head("2. Re-sync, no upstream change")
    row("API calls", [_n(_get(dbs[e], "resync", "api_calls")) for e in engines])
    row("rows written  [target 0]", [_n(_get(dbs[e], "resync", "rows_written")) for e in engines])
    row(
        "rows whose synced_at moved",
        [_n(sum((_get(dbs[e], "resync", "db_rows_touched") or {}).values())) for e in engines],
    )
    row("time (s)", [_n(_get(dbs[e], "resync", "wall_s"), 1) for e in engines])
    row("time / full sync", [_n(_frac(dbs[e], "resync"), 0, " %") for e in engines])

    head("3. Incremental sync after /_sandbox/advance")
    row("upstream changes (containers, scores)", [_advance(dbs[e]) for e in engines])
    row("API calls", [_n(_get(dbs[e], "incremental", "api_calls")) for e in engines])
    row("rows written", [_n(_get(dbs[e], "incremental", "rows_written")) for e in engines])
    row("time (s)", [_n(_get(dbs[e], "incremental", "wall_s"), 1) for e in engines])
    row("time / full sync", [_n(_frac(dbs[e], "incremental"), 0, " %") for e in engines])

    tier = results.get("tier")
    if tier:
        lines.append("")
        lines.append(
            f"4. Full sync at tier {tier['tier']}, {tier['latency_ms']} ms per request "
            f"({ENGINE_LABELS.get(tier['engine'], tier['engine'])})"
        )
        lines.append(f"  {'API calls':<{width - 2}}{_n(tier['api_calls']):>{col}}")
        lines.append(f"  {'wall time (s)':<{width - 2}}{_n(tier['wall_s'], 1):>{col}}")
        lines.append(
            f"  {'least the budget allows: calls / 120 per min (s)':<{width - 2}}"
            f"{_n(tier['least_s'], 1):>{col}}"
        )
        use = tier.get("budget_use")
        lines.append(
            f"  {'budget use  [target >= 90 %]':<{width - 2}}"
            f"{_n(None if use is None else use * 100, 1, ' %'):>{col}}"
        )
        use_b = tier.get("budget_use_after_burst")
        lines.append(
            f"  {'  same, after the opening burst of 120':<{width - 2}}"
            f"{_n(None if use_b is None else use_b * 100, 1, ' %'):>{col}}"
        )
        lines.append(
            f"  {'429s received  [target 0]':<{width - 2}}{_n(tier['throttled_429']):>{col}}"
        )

    if any(dbs[e].get("pages") for e in engines):
        lines.append("")
        lines.append(
            "5. Dashboard pages: server time (ms) median / p95, SQL queries; pass-through median, "
            "its API calls, ratio, live floor; pass-through with added latency per call, ratio"
        )
        for e in engines:
            pages = _get(dbs[e], "pages", "pages") or {}
            if not pages:
                continue
            lines.append(f"  {ENGINE_LABELS.get(e, e)}")
            latency = _get(dbs[e], "pages", "latency_ms")
            lines.append(
                f"    {'page':<24}{'median':>8}{'p95':>8}{'queries':>8}"
                f"{'pass-thru':>11}{'calls':>7}{'ratio':>8}{'floor':>8}"
                f"{f'@{latency}ms' if latency else '':>10}{'ratio':>8}"
            )
            for page in pages.values():
                cached, pt = page["cached"], page["passthrough"]
                floor = page.get("floor") or {}
                slow = page.get("passthrough_latency") or {}
                lines.append(
                    f"    {page['label'][:23]:<24}{_n(cached['median_ms'], 1):>8}"
                    f"{_n(cached['p95_ms'], 1):>8}{_n(cached['queries']):>8}"
                    f"{_n(pt['median_ms'], 1):>11}{_n(pt['api_calls']):>7}"
                    f"{_n(page['ratio_median'], 1, 'x'):>8}{_n(floor.get('median_ms'), 1):>8}"
                    f"{_n(slow.get('median_ms'), 0):>10}"
                    f"{_n(page.get('ratio_latency_median'), 1, 'x'):>8}"
                )

    if any(dbs[e].get("load") for e in engines):
        load = next(dbs[e]["load"] for e in engines if dbs[e].get("load"))
        head(
            f"6. Load: gunicorn, {load.get('workers', 3)} workers x {load.get('threads', 1)} "
            "threads, fixed rate over the dashboard pages"
        )
        row(
            f"held rate (req/s) with p95 <= {load.get('p95_bound_ms', LOAD_P95_MS):g} ms",
            [_n(_get(dbs[e], "load", "held_rps"), 1) for e in engines],
        )
        row("run length (s)", [_n(_get(dbs[e], "load", "final", "seconds")) for e in engines])
        row(
            "p50 / p95 (ms)",
            [
                f"{_n(_get(dbs[e], 'load', 'final', 'p50_ms'))} / "
                f"{_n(_get(dbs[e], 'load', 'final', 'p95_ms'))}"
                for e in engines
            ],
        )
        row("errors", [_n(_get(dbs[e], "load", "final", "errors")) for e in engines])
        row("p95 of / alone (ms)", [
            _n(_get(dbs[e], "load", "final", "by_path", "/", "p95_ms")) for e in engines
        ])  # fmt: skip
        row("p95 of the other pages, worst path (ms)", [_worst_other(dbs[e]) for e in engines])

    if any(dbs[e].get("memory") for e in engines):
        head("Memory: sync under tracemalloc at two sizes (peak of Python allocations)")
        first = next(dbs[e]["memory"] for e in engines if dbs[e].get("memory"))
        for i, run in enumerate(first):
            label = f"{run['projects']} x {run['creatives']} ({run['rows']:,} rows), peak KB"
            row(label, [_n(_get_list(dbs[e], i, "tracemalloc_peak_kb")) for e in engines])
        row("peak ratio (flat <= 1.5x)", [_n(memory_growth(dbs[e])[0], 2, "x") for e in engines])

    lines.append("")
    lines.append(
        "Targets"
        + (
            ""
            if scale.get("name") == "full"
            else " (set for the full scale; shown here for reference)"
        )
    )
    for t in results.get("targets", []):
        value = t["value"]
        shown = (
            f"{value:,.1f}"
            if isinstance(value, float)
            else str(value)
            if value is not None
            else "–"
        )
        why = f"  ({t['why']})" if t.get("why") else ""
        lines.append(
            f"  {_mark(t['met']):<7}{t['target']:<46}{ENGINE_LABELS.get(t['db'], t['db']):<12}"
            f"{shown:>12}  {t['bound']}{why}"
        )
    return "\n".join(lines)


def _worst_other(db: dict) -> str:
    paths = _get(db, "load", "final", "by_path") or {}
    values = [v["p95_ms"] for path, v in paths.items() if path != "/" and v.get("n")]
    return _n(max(values)) if values else "–"


def _get_list(db: dict, index: int, key: str):
    runs = db.get("memory") or []
    return runs[index].get(key) if index < len(runs) else None


def _frac(db: dict, step: str) -> float | None:
    full = _get(db, "full_sync", "wall_s")
    part = _get(db, step, "wall_s")
    return part / full * 100 if full and part is not None else None


def _advance(db: dict) -> str:
    totals = _get(db, "advance", "totals") or {}
    if not totals:
        return "–"
    return f"{totals.get('containersCreated', 0)}, {totals.get('scoresChanged', 0)}"
