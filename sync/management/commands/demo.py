"""`manage.py demo` (what `make demo` runs): the product on the embedded defaults.

Starts the sandbox (the local stand-in for the Layers API) unless a real API is configured,
syncs it, creates demo logins (printed), starts a background-task worker (`db_worker`, with
the default database task backend) and serves the app at http://127.0.0.1:8000/.
Ctrl-C stops all three.
"""

from __future__ import annotations

import os
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

from projects.models import Project
from sync.services import layers_sync

DEMO_KEY = "lp_test_DEMOKEYDEMOKEY00_" + "d" * 43
DEMO_PASSWORD = "layers-demo-2026"


class Command(BaseCommand):
    help = "Start the sandbox, sync it, create demo logins and run the server."

    def add_arguments(self, parser):
        parser.add_argument("--addr", default="127.0.0.1:8000")
        parser.add_argument("--sandbox-port", type=int, default=8001)
        parser.add_argument("--no-server", action="store_true", help="Set up, then exit.")

    def handle(self, *args, addr, sandbox_port, no_server, **options):
        sandbox = worker = None
        if not settings.LAYERS_API_KEY:
            sandbox = self._start_sandbox(sandbox_port)
            settings.LAYERS_API_BASE_URL = f"http://127.0.0.1:{sandbox_port}/v1"
            settings.LAYERS_API_KEY = DEMO_KEY
        try:
            self.stdout.write(f"Syncing from {settings.LAYERS_API_BASE_URL} ...")
            result = layers_sync(trigger="demo")
            counts = ", ".join(
                f"{kind} {c.created + c.updated + c.unchanged}" for kind, c in result.counts.items()
            )
            self.stdout.write(f"Sync #{result.run.pk} {result.run.status}: {counts}")
            self._demo_users()
            if not no_server:
                worker = self._start_worker()
                call_command("runserver", addr, use_reloader=False)
        except KeyboardInterrupt:
            pass
        finally:
            for process in (worker, sandbox):
                if process is not None:
                    process.terminate()
                    try:
                        process.wait(timeout=5)
                    except subprocess.TimeoutExpired:
                        process.kill()

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
        process = subprocess.Popen(
            [sys.executable, str(manage), "db_worker", "--no-reload", "--interval", "1"],
            env=env,
        )
        self.stdout.write(f"Task worker (manage.py db_worker) started, pid {process.pid}")
        return process

    def _start_sandbox(self, port: int) -> subprocess.Popen:
        root = f"http://127.0.0.1:{port}"
        try:
            requests.get(f"{root}/_sandbox/faults", timeout=0.5)
        except requests.RequestException:
            pass
        else:
            raise CommandError(
                f"Something already listens on port {port}; stop it or pass --sandbox-port."
            )
        process = subprocess.Popen(
            # The pilot tier, which the sandbox reports in /whoami: the demo's sync is paced
            # by it (a real key is paced by its own tier).
            [sys.executable, "-m", "sandbox", "--port", str(port), "--api-key", DEMO_KEY]
            + ["--tier", "pilot"],
            stdout=subprocess.DEVNULL,
        )
        for _ in range(100):
            try:
                requests.get(f"{root}/_sandbox/faults", timeout=0.5)
                self.stdout.write(f"Sandbox (local Layers API stand-in) at {root}/v1")
                return process
            except requests.RequestException:
                if process.poll() is not None:
                    raise CommandError("The sandbox did not start.") from None
                time.sleep(0.1)
        process.terminate()
        raise CommandError("The sandbox did not answer within 10 seconds.")

    def _demo_users(self) -> None:
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
        self.stdout.write(
            self.style.SUCCESS(
                "\nDemo logins (password for each: " + DEMO_PASSWORD + ")\n"
                "  manager  account manager of " + ", ".join(p.name for p in assigned) + "\n"
                "  support  support staff: every project, Django admin\n"
                "  admin    superuser\n"
                "Open http://127.0.0.1:8000/ "
                "(Ctrl-C stops the server, the task worker and the sandbox)\n"
            )
        )
