"""`manage.py demo` (what `make demo` runs): the product on the embedded defaults.

Starts the sandbox (the local stand-in for the Layers API, its clock on real time) unless a
real API key is configured, syncs it, creates demo logins, starts a background-task worker
(`db_worker`, with the default database task backend) and serves the app, by default at
http://127.0.0.1:8000/ (`--port`, `--host`; the sandbox on `--sandbox-port`, default 8001).
Both ports are checked before anything starts. The closing banner prints the logins, the
app's address and, for the sandbox only, its key and the command to sync by hand (a real
key is never printed). Ctrl-C (or SIGTERM) stops the server, the worker and the sandbox.

With the sandbox, the demo also wires Layers' webhooks: it generates a signing secret (or
takes the first of LAYERS_WEBHOOK_SECRET), sets it for the app and has the sandbox send its
signed events (``content.generated`` when its world completes a container,
``content.approved|rejected`` on review) to the app's ``/webhooks/layers/``; the worker
re-fetches what they name, so a new container shows up without a sync.
"""

from __future__ import annotations

import ctypes
import errno
import os
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

from projects.models import Project
from sync.services import layers_sync

DEMO_KEY = "lp_test_DEMOKEYDEMOKEY00_" + "d" * 43  # the sandbox's key: fine to print
DEMO_PASSWORD = "layers-demo-2026"
SANDBOX_HOST = "127.0.0.1"

# Linux: the sandbox and the worker get SIGTERM when the demo dies, however it dies (a
# `kill -9`, or runserver's `os._exit` when its port is taken after all), so none is left
# running. Loaded here, not in the child between fork and exec.
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform == "linux" else None
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def port_in_use(host: str, port: int) -> bool:
    """Whether binding ``host:port`` fails because something already has it (bound as the
    servers bind: with SO_REUSEADDR, so a closed connection's TIME_WAIT is no obstacle)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host.strip("[]"), port))
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                return True
            raise CommandError(f"Cannot use {host}:{port}: {e.strerror}.") from None
    return False


def check_ports(wanted: list[tuple[str, int, str, str]]) -> None:
    """``wanted``: (host, port, option, what). Raises CommandError naming the first busy port
    and the option that changes it."""
    for host, port, option, what in wanted:
        if not 0 < port < 65536:
            raise CommandError(f"{option} {port}: a port is 1-65535.")
        if port_in_use(host, port):
            make_var = {"--port": "PORT", "--sandbox-port": "SANDBOX_PORT"}[option]
            other = port + 10 if port < 65526 else port - 10
            raise CommandError(
                f"Port {port} ({what}) is already in use on {host}: stop what listens there "
                f"or pick another port with {option}, e.g. `manage.py demo {option} {other}` "
                f"(`make demo {make_var}={other}`). Nothing was started."
            )


def site_url(host: str, port: int) -> str:
    """The address to open in a browser for a server bound to ``host:port``."""
    shown = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(host, host)  # noqa: S104
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/"


def banner(
    *,
    url: str | None,
    base_url: str,
    sandbox_key: str | None,
    assigned: list[str],
    webhook_url: str | None = None,
) -> str:
    """What the demo prints once it is ready. ``sandbox_key`` is None with a real API key,
    which is never printed: the hand-run sync then reads it from the environment as usual.
    ``webhook_url``: where the sandbox sends its webhooks (never the secret)."""
    python, base = Path(sys.executable), Path(settings.BASE_DIR).resolve()
    if python.is_relative_to(base):
        python = python.relative_to(base)  # .venv/bin/python, as the README writes it
    with_debug = "DEBUG=true " if settings.DEBUG else ""
    lines = [
        f"Demo logins (password for each: {DEMO_PASSWORD})",
        f"  manager  account manager of {', '.join(assigned) or '(no project yet)'}",
        "  support  support staff: every project, Django admin",
        "  admin    superuser",
        "",
    ]
    if sandbox_key is not None:
        env = f"LAYERS_API_BASE_URL={base_url} LAYERS_API_KEY={sandbox_key}"
        lines += [
            f"Sandbox (local stand-in for the Layers API): {base_url}",
            f"  its API key: {sandbox_key}",
            "  sync by hand (another terminal, while the demo runs):",
            f"  {with_debug}{env} {shlex.quote(str(python))} manage.py sync_layers",
        ]
    else:
        lines += [
            f"Layers API: {base_url} (the configured LAYERS_API_KEY)",
            f"  sync by hand: {with_debug}{shlex.quote(str(python))} manage.py sync_layers",
        ]
    if webhook_url is not None:
        root = base_url.removesuffix("/v1")
        lines += [
            "",
            f"Webhooks: the sandbox signs its events and sends them to {webhook_url}",
            "  a new container without a sync: move the sandbox's world on 3 hours with",
            f"  curl -X POST '{root}/_sandbox/advance?hours=3'",
            "  (what arrived: admin > Layers webhooks > Webhook events)",
        ]
    if url is not None:
        lines += [
            "",
            f"Open {url}  (Ctrl-C stops the server, the task worker and the sandbox)",
        ]
    return "\n".join(lines) + "\n"


def _stop(process: subprocess.Popen | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _interrupt(signum, frame):
    raise KeyboardInterrupt


class Command(BaseCommand):
    help = "Start the sandbox, sync it, create demo logins and run the server."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1", help="The app's address.")
        parser.add_argument("--port", type=int, default=8000, help="The app's port.")
        parser.add_argument(
            "--sandbox-port", type=int, default=8001, help="The sandbox's port (on 127.0.0.1)."
        )
        parser.add_argument("--no-server", action="store_true", help="Set up, then exit.")

    def handle(self, *args, host, port, sandbox_port, no_server, **options):
        real_api = bool(settings.LAYERS_API_KEY)
        wanted = [] if no_server else [(host, port, "--port", "the app")]
        if not real_api:
            if not no_server and port == sandbox_port:
                raise CommandError(f"--port and --sandbox-port are both {port}; pick two.")
            wanted.append((SANDBOX_HOST, sandbox_port, "--sandbox-port", "the sandbox"))
        check_ports(wanted)  # before anything starts or syncs

        sandbox = worker = None
        self.webhook_url = self.webhook_secret = None
        if not real_api and not no_server:
            # The sandbox sends its signed webhooks to this app (README "Webhooks").
            self.webhook_url = site_url(host, port).rstrip("/") + reverse("layers_webhook")
            configured = [s for s in settings.LAYERS_WEBHOOK_SECRET.split(",") if s.strip()]
            self.webhook_secret = configured[0].strip() if configured else secrets.token_hex(32)
            settings.LAYERS_WEBHOOK_SECRET = self.webhook_secret  # this process serves the app
        previous_sigterm = signal.signal(signal.SIGTERM, _interrupt)  # stop like Ctrl-C
        try:
            if not real_api:
                sandbox = self._start_sandbox(sandbox_port)
                settings.LAYERS_API_BASE_URL = f"http://{SANDBOX_HOST}:{sandbox_port}/v1"
                settings.LAYERS_API_KEY = DEMO_KEY
            self.stdout.write(f"Syncing from {settings.LAYERS_API_BASE_URL} ...")
            result = layers_sync(trigger="demo")
            counts = ", ".join(
                f"{kind} {c.created + c.updated + c.unchanged}" for kind, c in result.counts.items()
            )
            self.stdout.write(f"Sync #{result.run.pk} {result.run.status}: {counts}")
            if result.failed:
                self.stderr.write(f"Projects that failed: {', '.join(result.failed)}")
            assigned = self._demo_users()
            url = None if no_server else site_url(host, port)
            self.stdout.write(
                self.style.SUCCESS(
                    "\n"
                    + banner(
                        url=url,
                        base_url=settings.LAYERS_API_BASE_URL,
                        sandbox_key=None if real_api else DEMO_KEY,
                        assigned=assigned,
                        webhook_url=self.webhook_url,
                    )
                )
            )
            if not no_server:
                worker = self._start_worker()
                call_command("runserver", f"{host}:{port}", use_reloader=False)
        except KeyboardInterrupt:
            pass
        finally:
            signal.signal(signal.SIGTERM, previous_sigterm)
            _stop(worker)
            _stop(sandbox)

    def _start_worker(self) -> subprocess.Popen | None:
        """The background-task worker (admin's "Sync selected projects now" runs on it), as a
        subprocess seeing the same API as this process (the sandbox's address and key)."""
        if settings.LAYERS_TASKS_BACKEND != "database":
            if settings.LAYERS_TASKS_BACKEND == "rq":
                self.stdout.write(
                    "Tasks go to RQ: run `python manage.py rqworker --job-class "
                    "django_tasks_rq.Job default` next to this server."
                )
            return None
        env = {
            **os.environ,
            "LAYERS_API_BASE_URL": settings.LAYERS_API_BASE_URL,
            "LAYERS_API_KEY": settings.LAYERS_API_KEY,
        }
        manage = Path(settings.BASE_DIR) / "manage.py"
        process = subprocess.Popen(  # noqa: S603
            [sys.executable, str(manage), "db_worker", "--no-reload", "--interval", "1"],
            env=env,
            preexec_fn=_die_with_parent,
        )
        self.stdout.write(f"Task worker (manage.py db_worker) started, pid {process.pid}")
        return process

    def _start_sandbox(self, port: int) -> subprocess.Popen:
        """The sandbox, sending its webhooks to ``self.webhook_url`` when set (the secret by
        environment, so it is not in the process list)."""
        root = f"http://{SANDBOX_HOST}:{port}"
        env = {**os.environ, "SANDBOX_WEBHOOK_URL": "", "SANDBOX_WEBHOOK_SECRET": ""}
        if getattr(self, "webhook_url", None):
            env["SANDBOX_WEBHOOK_URL"] = self.webhook_url
            env["SANDBOX_WEBHOOK_SECRET"] = self.webhook_secret
        process = subprocess.Popen(  # noqa: S603
            # The pilot tier, which the sandbox reports in /whoami: the demo's sync is paced
            # by it (a real key is paced by its own tier). No --now: its clock is real time,
            # so the times it stamps agree with the dashboard's audit.
            [sys.executable, "-m", "sandbox", "--host", SANDBOX_HOST, "--port", str(port)]
            + ["--api-key", DEMO_KEY, "--tier", "pilot"],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
        )
        for _ in range(100):
            try:
                requests.get(f"{root}/_sandbox/info", timeout=0.5)
            except requests.RequestException:
                if process.poll() is not None:
                    raise CommandError(
                        f"The sandbox did not start on port {port} (see above); "
                        "pick another with --sandbox-port."
                    ) from None
                time.sleep(0.1)
            else:
                self.stdout.write(f"Sandbox (local Layers API stand-in) at {root}/v1")
                return process
        _stop(process)
        raise CommandError("The sandbox did not answer within 10 seconds.")

    def _demo_users(self) -> list[str]:
        """The three demo logins; returns the names of the manager's projects."""
        users = get_user_model()
        admin, _ = users.objects.get_or_create(
            username="admin", defaults={"is_staff": True, "is_superuser": True}
        )
        support, _ = users.objects.get_or_create(username="support", defaults={"is_staff": True})
        manager, _ = users.objects.get_or_create(
            username="manager", defaults={"first_name": "Maria", "last_name": "Manager"}
        )
        for user in (admin, support, manager):
            user.set_password(DEMO_PASSWORD)
            user.save()
        for user, group_name in ((support, "Support"), (manager, "Account managers")):
            group = Group.objects.filter(name=group_name).first()
            if group is not None:
                user.groups.add(group)
        assigned = list(Project.objects.filter(is_gone=False).order_by("name")[:3])
        for project in assigned:
            project.account_managers.add(manager)
        return [p.name for p in assigned]
