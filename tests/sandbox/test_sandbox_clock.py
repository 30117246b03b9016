"""The sandbox's clock: real time by default (what `make demo` runs), pinned with ``now`` /
``--now`` (what the tests and the benchmarks run, so their data is the same every time)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from sandbox.pytest_plugin import FIXTURE_DEFAULTS
from sandbox.server import PINNED_NOW
from sandbox.util import parse_iso

from .conftest import Api

ROOT = Path(__file__).resolve().parents[2]


def clock(api: Api) -> int:
    return parse_iso(api.control("GET", "/_sandbox/info").json()["now"])


def test_the_clock_is_real_time_by_default_and_follows_the_wall_clock(sandbox_factory):
    api = Api(sandbox_factory(projects=1, creatives_per_project=5, now=None))
    assert api.server.realtime
    assert abs(clock(api) - time.time()) <= 2
    created = api.post("/projects", json={"name": "Clock Co", "timezone": "UTC"}).json()
    assert abs(parse_iso(created["createdAt"]) - time.time()) <= 2
    # The generated data is recent: the newest container was made within the last days.
    pid = api.projects()[-1]["id"]
    newest = api.ok("GET", f"/projects/{pid}/content?limit=1")["items"][0]
    assert 0 <= time.time() - parse_iso(newest["createdAt"]) <= 3 * 86400

    before = clock(api)
    time.sleep(1.2)
    assert clock(api) >= before + 1  # it keeps following the wall clock
    api.control("POST", "/_sandbox/advance?hours=2")
    assert abs(clock(api) - (time.time() + 2 * 3600)) <= 2  # ahead by the advance, still ticking


def test_now_pins_the_clock(sandbox_factory):
    api = Api(sandbox_factory(projects=1, creatives_per_project=5, now="2025-03-01T08:00:00Z"))
    assert not api.server.realtime
    time.sleep(1.1)
    assert clock(api) == parse_iso("2025-03-01T08:00:00Z")  # only advance moves it
    api.control("POST", "/_sandbox/advance?hours=1")
    assert clock(api) == parse_iso("2025-03-01T09:00:00Z")


def test_the_test_fixture_pins_the_clock(sandbox_server):
    assert FIXTURE_DEFAULTS["now"] == PINNED_NOW
    assert not sandbox_server.realtime
    assert clock(Api(sandbox_server)) == parse_iso(PINNED_NOW)


def test_cli_clock_real_time_by_default_pinned_with_now_and_checked():
    def banner(*args: str) -> str:
        proc = subprocess.Popen(
            [sys.executable, "-m", "sandbox", "--port", "0", "--projects", "1", *args],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            out = ""
            while "clock" not in out:
                line = proc.stdout.readline()
                assert line, proc.stderr.read()
                out += line
            return out
        finally:
            proc.terminate()
            proc.wait(timeout=10)

    assert "(real time)" in banner()
    assert f"clock    : {PINNED_NOW} (pinned)" in banner("--now", PINNED_NOW)
    bad = subprocess.run(
        [sys.executable, "-m", "sandbox", "--now", "last tuesday"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert bad.returncode == 2 and "--now" in bad.stderr
