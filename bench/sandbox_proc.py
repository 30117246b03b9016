"""The sandbox in its own process, so it never shares a GIL with the code being measured."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import requests

from bench.config import API_KEY, PYTHON, ROOT, SANDBOX_NOW, SEED


class SandboxProcess:
    """``python -m sandbox`` on a free loopback port; a context manager."""

    def __init__(
        self,
        *,
        projects: int,
        creatives: int,
        tier: str = "unlimited",
        latency_ms: int = 0,
        log_path=None,
    ) -> None:
        self.args = [
            PYTHON,
            "-m",
            "sandbox",
            "--port",
            "0",
            "--seed",
            str(SEED),
            "--projects",
            str(projects),
            "--creatives-per-project",
            str(creatives),
            "--tier",
            tier,
            "--latency-ms",
            str(latency_ms),
            "--api-key",
            API_KEY,
            "--now",
            SANDBOX_NOW,
        ]
        self.tier = tier
        self.latency_ms = latency_ms
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None
        self.base_url = ""
        self.root_url = ""
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {API_KEY}"

    def __enter__(self) -> SandboxProcess:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        self.proc = subprocess.Popen(
            self.args,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
        )
        deadline = time.monotonic() + 30
        lines = []
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "base URL" in line:
                self.base_url = line.split(":", 1)[1].strip()
                self.root_url = self.base_url.rsplit("/v1", 1)[0]
                break
        if not self.base_url:
            self.stop()
            raise RuntimeError("the sandbox did not start:\n" + "".join(lines))
        # Keep draining its output so it never blocks on a full pipe.
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        log = open(self.log_path, "a") if self.log_path else None  # noqa: SIM115
        try:
            for line in self.proc.stdout:
                if log:
                    log.write(line)
        finally:
            if log:
                log.close()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.session.close()

    def cpu_seconds(self) -> float:
        """CPU time the sandbox process has used so far (user + system)."""
        try:
            stat = Path(f"/proc/{self.proc.pid}/stat").read_text()
            fields = stat.rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            return float("nan")

    # --- the API and the control surface ----------------------------------------------------

    def project_ids(self) -> list[str]:
        """Every project of the main organization (active and archived), sorted by id."""
        ids = []
        for status in ("active", "archived"):
            cursor = None
            while True:
                params: dict[str, Any] = {"limit": 200, "status": status}
                if cursor:
                    params["cursor"] = cursor
                data = self.session.get(f"{self.base_url}/projects", params=params, timeout=60)
                data.raise_for_status()
                body = data.json()
                ids.extend(item["id"] for item in body["items"])
                cursor = body.get("nextCursor")
                if not cursor:
                    break
        return sorted(ids)

    def warm(self) -> list[str]:
        """Generate every project now (the sandbox does it lazily on first touch), so neither
        side of a comparison pays for data generation; then its analytics (``warm_boards``)."""
        ids = self.project_ids()
        for project_id in ids:
            self.session.get(
                f"{self.root_url}/_sandbox/state", params={"projectId": project_id}, timeout=120
            ).raise_for_status()
        self.warm_boards(ids)
        return ids

    def warm_boards(self, ids: list[str]) -> None:
        """Have the sandbox sum each project's metric windows now.

        The sandbox sums 90 days of daily metrics per creative on the first top-performers
        call after its clock moves (about 185 ms of its CPU per project at 2,000 creatives,
        9 s for 50 projects). The real API answers leaderboards from its own analytics, on its
        own machines; here that work would land on the 2 cores the measured code runs on and
        hold the sandbox's GIL while the sync's list pages wait. Skipped on a paced tier,
        where these calls would spend the read budget the tier run measures.
        """
        if self.tier != "unlimited":
            return
        for project_id in ids:
            self.session.get(
                f"{self.base_url}/projects/{project_id}/top-performers",
                params={"metric": "views", "limit": 1},
                timeout=120,
            ).raise_for_status()

    def advance(self, hours: float) -> dict[str, Any]:
        response = self.session.post(
            f"{self.root_url}/_sandbox/advance", params={"hours": hours}, timeout=300
        )
        response.raise_for_status()
        body = response.json()
        self.warm_boards(self.project_ids())
        return {"hours": hours, "now": body.get("now"), "totals": body.get("totals", {})}
