"""``python -m sandbox``: prints its base URL and keys and answers the seeds' curl examples."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def cli():
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sandbox",
            "--port",
            "0",
            "--projects",
            "3",
            "--creatives-per-project",
            "20",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    lines = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if line.strip().startswith("try:"):
            break
    yield proc, "".join(lines)
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def test_cli_prints_url_and_keys_and_answers_the_seed_examples(cli):
    proc, out = cli
    base = re.search(r"base URL\s*:\s*(http://127\.0\.0\.1:\d+/v1)", out).group(1)
    keys = dict(re.findall(r"^\s{4}(\w+)\s+(lp_test_\S+)$", out, re.M))
    assert {"main", "readonly", "other_org"} <= set(keys)
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {keys['main']}"

    # seed 003: create and look up by customerExternalId
    body = {
        "name": "Acme Fitness",
        "customerExternalId": "acme-prod-987",
        "timezone": "America/Los_Angeles",
    }
    created = s.post(f"{base}/projects", json=body, timeout=10)
    assert created.status_code == 201
    found = s.get(
        f"{base}/projects", params={"customerExternalId": "acme-prod-987"}, timeout=10
    ).json()
    assert [p["id"] for p in found["items"]] == [created.json()["id"]]

    pid = s.get(f"{base}/projects", timeout=10).json()["items"][1]["id"]
    # seed 002
    content = s.get(f"{base}/projects/{pid}/content?status=completed&limit=20", timeout=10).json()
    assert content["items"] and all(c["status"] == "completed" for c in content["items"])
    # seed 000
    top = s.get(f"{base}/projects/{pid}/top-performers?metric=roas&window=30d&limit=10", timeout=10)
    assert top.status_code == 200 and top.json()["metric"] == "roas"
    # seed 001
    row = s.get(f"{base}/projects/{pid}/ads-content", timeout=10).json()["items"][0]
    patched = s.patch(
        f"{base}/projects/{pid}/ads-content/{row['adsContentId']}",
        json={"override": "exclude", "note": "Legal flagged the background music"},
        timeout=10,
    )
    assert (
        patched.status_code == 200
        and patched.json()["eligibility"]["reason"] == "excluded by override"
    )
    assert proc.poll() is None


def test_cli_rejects_bad_arguments():
    r = subprocess.run(
        [sys.executable, "-m", "sandbox", "--tier", "gold"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert r.returncode == 2 and "invalid choice" in r.stderr
