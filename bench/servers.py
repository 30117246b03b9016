"""gunicorn on loopback for the page and load measures, and a small HTTP client to time it."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import time
from http.cookies import SimpleCookie

import requests

from bench.config import PYTHON, ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gunicorn:
    """``gunicorn APP`` on a free loopback port (sync workers, or gthread ones with ``threads``
    above 1); a context manager."""

    def __init__(
        self, app: str, *, workers: int, log_path, env: dict | None = None, threads: int = 1
    ) -> None:
        self.app, self.workers, self.threads, self.log_path = app, workers, threads, log_path
        self.env = {**os.environ, **(env or {})}
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> Gunicorn:
        log = open(self.log_path, "a")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen(
            [PYTHON, "-m", "gunicorn", self.app, "--workers", str(self.workers),
             "--threads", str(self.threads),
             "--bind", f"127.0.0.1:{self.port}", "--timeout", "300", "--log-level", "warning"],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.proc.returncode}; {self.log_path}")
            try:
                if requests.get(f"http://127.0.0.1:{self.port}/healthz", timeout=5).ok:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.2)
        self.__exit__()
        raise RuntimeError(f"gunicorn did not answer within 60 s; see {self.log_path}")

    def __exit__(self, *exc) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def fetch(
    port: int,
    method: str,
    path: str,
    *,
    cookies: dict[str, str],
    headers: dict[str, str] | None = None,
    body: bytes = b"",
) -> tuple[int, bytes, float, http.client.HTTPResponse]:
    """One request on a new connection: (status, body, seconds to the last byte, response)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    sent = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items()), **(headers or {})}
    if body:
        sent.setdefault("Content-Type", "application/x-www-form-urlencoded")
    try:
        started = time.perf_counter()
        conn.request(method, path, body=body or None, headers=sent)
        response = conn.getresponse()
        data = response.read()
        elapsed = time.perf_counter() - started
    finally:
        conn.close()
    return response.status, data, elapsed, response


def set_cookies(response: http.client.HTTPResponse) -> dict[str, str]:
    jar = SimpleCookie()
    for value in response.headers.get_all("Set-Cookie") or []:
        jar.load(value)
    return {name: morsel.value for name, morsel in jar.items()}
