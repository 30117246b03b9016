"""Measure 6: gunicorn (``LOAD_WORKERS`` x ``LOAD_THREADS``, bench/config.py) on loopback
under a fixed-rate (open-loop) load.

The load generator is a small asyncio client in this process (no wrk or locust needed): it
sends request *i* at ``start + i / rate`` whatever happened to the earlier ones, and times
each from that scheduled moment, so a server that falls behind shows it in the latencies
(no coordinated omission). One new connection per request (gunicorn's sync workers close
each one). The mix cycles over the dashboard pages of measure 5 (GET only), signed in.

The rate is found by a ladder of short probes (x1.5 from 10 req/s) while p95 stays at or
under the bound with no errors, one step back between the last good and the first bad rate,
then held for the full run; if the full run misses the bound it is repeated at 80 % of the
rate, twice at most.
"""

from __future__ import annotations

import asyncio
from typing import Any

from bench.config import LOAD_P95_MS, LOAD_THREADS, LOAD_WORKERS
from bench.pages import percentile
from bench.servers import Gunicorn

TIMEOUT = 10.0
MAX_IN_FLIGHT = 512


async def _fixed_rate(
    port: int, paths: list[str], cookies: list[str], rate: float, seconds: float
) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    total = max(1, int(rate * seconds))
    latencies: list[float] = []
    by_path: dict[str, list[float]] = {path: [] for path in paths}
    statuses: dict[str, int] = {}
    errors: list[str] = []
    in_flight = 0
    done_at: list[float] = []

    def request_bytes(i: int) -> bytes:
        return (
            f"GET {paths[i % len(paths)]} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Cookie: sessionid={cookies[i % len(cookies)]}\r\n"
            "User-Agent: layersadmin-bench\r\nAccept: text/html\r\nConnection: close\r\n\r\n"
        ).encode()

    async def one(i: int, scheduled: float) -> None:
        nonlocal in_flight
        in_flight += 1
        status = "error"
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection("127.0.0.1", port), TIMEOUT
            )
            try:
                writer.write(request_bytes(i))
                await writer.drain()
                data = await asyncio.wait_for(reader.read(-1), TIMEOUT)
            finally:
                writer.close()
            status = data[9:12].decode("latin-1") if data.startswith(b"HTTP/") else "garbled"
        except (TimeoutError, OSError) as exc:
            errors.append(type(exc).__name__)
        finally:
            in_flight -= 1
        finished = loop.time()
        statuses[status] = statuses.get(status, 0) + 1
        if status == "200":
            latencies.append(finished - scheduled)
            by_path[paths[i % len(paths)]].append((finished - scheduled) * 1000)
            done_at.append(finished)
        elif status != "error":
            errors.append(f"HTTP {status}")

    tasks = []
    start = loop.time() + 0.05
    dropped = 0
    for i in range(total):
        scheduled = start + i / rate
        delay = scheduled - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        if in_flight >= MAX_IN_FLIGHT:
            dropped += 1
            continue
        tasks.append(asyncio.create_task(one(i, scheduled)))
    await asyncio.gather(*tasks)
    end = max(done_at) if done_at else loop.time()
    ms = [x * 1000 for x in latencies]
    elapsed = max(1e-9, end - start)
    return {
        "target_rps": rate,
        "seconds": seconds,
        "sent": len(tasks),
        "ok": len(latencies),
        "errors": len(errors) + dropped,
        "error_kinds": sorted(set(errors))[:10] + (["dropped"] if dropped else []),
        "statuses": statuses,
        "achieved_rps": len(latencies) / elapsed,
        "p50_ms": percentile(ms, 50),
        "p95_ms": percentile(ms, 95),
        "p99_ms": percentile(ms, 99),
        "max_ms": max(ms) if ms else float("nan"),
        "by_path": {
            path: {"n": len(v), "p50_ms": percentile(v, 50), "p95_ms": percentile(v, 95)}
            for path, v in by_path.items()
        },
    }


def fixed_rate(
    port: int, paths: list[str], cookies: list[str], rate: float, seconds: float
) -> dict:
    return asyncio.run(_fixed_rate(port, paths, cookies, rate, seconds))


def _good(result: dict, bound_ms: float = LOAD_P95_MS) -> bool:
    return (
        result["errors"] == 0
        and result["p95_ms"] <= bound_ms
        and result["achieved_rps"] >= 0.9 * result["target_rps"]
    )


def run_load(
    *,
    paths: list[str],
    cookies: list[str],
    seconds: float,
    probe_seconds: float,
    log_path,
    workers: int = LOAD_WORKERS,
    threads: int = LOAD_THREADS,
    bound_ms: float = LOAD_P95_MS,
) -> dict[str, Any]:
    def good(result: dict) -> bool:
        return _good(result, bound_ms)

    with Gunicorn(
        "layersadmin.wsgi", workers=workers, threads=threads, log_path=log_path
    ) as server:
        port = server.port
        for _ in range(2):  # warm every worker's code paths and connections
            fixed_rate(port, paths, cookies, rate=20, seconds=max(1.0, len(paths) / 20))
        probes = []
        rate, best, worst = 10.0, None, None
        while rate <= 2000:
            result = fixed_rate(port, paths, cookies, rate, probe_seconds)
            probes.append(result)
            if not good(result):
                worst = rate
                break
            best = rate
            rate *= 1.5
        if best is not None and worst is not None:
            middle = (best * worst) ** 0.5
            result = fixed_rate(port, paths, cookies, middle, probe_seconds)
            probes.append(result)
            if good(result):
                best = middle
        if best is None:
            # Not even the first step held: go down until one does (or give up at 1 req/s).
            rate = 10.0
            while best is None and rate > 1.0:
                rate /= 1.5
                result = fixed_rate(port, paths, cookies, rate, probe_seconds)
                probes.append(result)
                if good(result):
                    best = rate
            best = best or 1.0
        # Short probes can miss a queue that builds up slowly: the full-length run decides,
        # and steps down (x0.8, twice at most) until one holds.
        rate = best
        runs = [fixed_rate(port, paths, cookies, rate, seconds)]
        while not good(runs[-1]) and len(runs) < 3:
            rate *= 0.8
            runs.append(fixed_rate(port, paths, cookies, rate, seconds))
        final = runs[-1]
        return {
            "workers": workers,
            "threads": threads,
            "paths": paths,
            "p95_bound_ms": bound_ms,
            "probes": probes,
            "runs": runs,
            "held_rps": final["achieved_rps"] if good(final) else 0.0,
            "final": final,
            "met": good(final),
        }
