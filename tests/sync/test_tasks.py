"""Background tasks: admin's sync is queued (the request never syncs), a real worker runs it
(django-tasks-db's ``db_worker``, RQ's ``rqworker``), the re-fetch tasks, and the task status
page (full page or htmx fragment, polling while unfinished, only for who may see it)."""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone
from django_tasks import default_task_backend
from django_tasks_db.models import DBTaskResult

from creatives.models import ContentContainer
from layersadmin.layers import LayersClient
from projects.models import Project
from sync.models import SyncRun, TaskRecord
from sync.services import layers_sync
from sync.services.refetch import container_refetch
from sync.tasks import (
    container_refetch_enqueue,
    container_refetch_task,
    project_refetch_enqueue,
    project_sync_enqueue,
    project_sync_task,
    task_enqueue,
)
from tests.conftest import HX, grant, html, make_client
from tests.factories import ContentContainerFactory, UserFactory
from tests.reliability.helpers import PYTHON, ROOT, subprocess_env

pytestmark = pytest.mark.django_db

IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
POLLING = 'hx-trigger="every 2s"'


@pytest.fixture
def small(sandbox_factory, settings):
    """A small sandbox (2 projects x 10 creatives), settings pointing the client at it."""
    server = sandbox_factory(projects=2, creatives_per_project=10)
    settings.LAYERS_API_BASE_URL = server.base_url
    settings.LAYERS_API_KEY = server.keys["main"]
    settings.LAYERS_API_MAX_ATTEMPTS = 3
    settings.LAYERS_API_BACKOFF_BASE = 0.01
    settings.LAYERS_API_TIER = "unlimited"
    return server


@pytest.fixture
def small_synced(small):
    client = make_client(small)
    try:
        assert layers_sync(client=client).ok
    finally:
        client.close()
    return small


@pytest.fixture
def support(django_user_model):
    """Support staff. The rights are granted directly: a transactional test's flush removes
    the groups the data migration made (and pytest-django runs those tests last)."""
    user = django_user_model.objects.create_user(username="sue", password="x", is_staff=True)
    grant(user, "view_all_projects", "sync_project", "view_project", "change_project")
    grant(user, "view_syncrun", "view_taskrecord")
    return user


@pytest.fixture
def immediate(settings):
    """Tasks run in the calling process at once (LAYERS_TASKS_BACKEND=immediate)."""
    settings.TASKS = IMMEDIATE


def run_db_worker(server, timeout: float = 120) -> subprocess.CompletedProcess:
    """``manage.py db_worker --batch``: run every queued task against the test database, exit."""
    env = subprocess_env(server.base_url, server.keys["main"], LAYERS_API_TIER="unlimited")
    return subprocess.run(  # noqa: S603 - our interpreter, our manage.py
        [PYTHON, str(ROOT / "manage.py"), "db_worker", "--batch", "--no-reload"]
        + ["--no-startup-delay", "--interval", "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _no_api(*args, **kwargs):
    raise AssertionError("the admin request called the Layers API")


# --- admin: queued in the request, run by the database worker ------------------------------


@pytest.mark.django_db(transaction=True)
def test_admin_sync_is_queued_and_the_database_worker_runs_it(
    small_synced, client, support, monkeypatch
):
    project = Project.objects.filter(status="active").order_by("layers_id").first()
    runs_before = SyncRun.objects.count()
    client.force_login(support)

    with monkeypatch.context() as patched:
        patched.setattr(LayersClient, "request", _no_api)
        started = time.monotonic()
        response = client.post(
            reverse("admin:projects_project_changelist"),
            {"action": "sync_now", "_selected_action": [project.pk]},
            follow=True,
        )
        elapsed = time.monotonic() - started

    assert response.status_code == 200
    assert elapsed < 5, f"the request took {elapsed:.1f}s: it must only queue the sync"
    assert SyncRun.objects.count() == runs_before, "the request ran a sync"
    record = TaskRecord.objects.get()
    assert (record.kind, record.user, record.project_ids) == ("sync", support, [project.layers_id])
    assert record.status == "queued"
    queued = DBTaskResult.objects.get(id=record.task_id)
    assert queued.status == "READY"
    assert queued.task_path == "sync.tasks.project_sync_task"
    assert queued.args_kwargs["kwargs"] == {
        "project_ids": [project.layers_id],
        "user_id": support.pk,
        "full": False,
    }
    page = html(response)
    assert "Sync of 1 project queued" in page
    assert f'href="/tasks/{record.task_id}/"' in page

    worker = run_db_worker(small_synced)
    assert worker.returncode == 0, worker.stdout + worker.stderr

    run = SyncRun.objects.order_by("-id").first()
    assert SyncRun.objects.count() == runs_before + 1
    assert (run.trigger, run.triggered_by, run.status) == ("task", support, "succeeded")
    assert run.project_ids == [project.layers_id] and run.projects_synced == 1
    done = DBTaskResult.objects.get(id=record.task_id)
    assert done.status == "SUCCESSFUL"
    assert done.return_value == {
        "run_id": run.pk,
        "status": "succeeded",
        "counts": run.counts,
        "errors": 0,
    }
    record.refresh_from_db()  # the worker recorded the outcome (task_finished)
    assert record.status == "done" and record.result["run_id"] == run.pk
    assert record.finished_at is not None

    status_page = client.get(record.get_absolute_url())
    body = html(status_page)
    assert status_page.status_code == 200
    assert 'data-state="done"' in body and POLLING not in body
    assert reverse("admin:sync_syncrun_change", args=[run.pk]) in body


def test_a_user_without_the_sync_permission_cannot_queue_one(small_synced, client):
    user = UserFactory(username="viewer", is_staff=True)
    grant(user, "view_project", "change_project")
    client.force_login(user)
    project = Project.objects.first()
    client.post(
        reverse("admin:projects_project_changelist"),
        {"action": "sync_now", "_selected_action": [project.pk]},
    )
    assert not TaskRecord.objects.exists() and not DBTaskResult.objects.exists()


# --- the status page --------------------------------------------------------------------------


def test_status_page_polls_while_queued_or_running_and_stops_when_done(manager, client):
    record = project_sync_enqueue(project_ids=["prj_a"], user=manager)
    url = record.get_absolute_url()

    page = client.get(url)
    assert page.status_code == 200 and page["Vary"].count("HX-Request") == 1
    body = html(page)
    assert "<html" in body and 'data-state="queued"' in body
    assert POLLING in body and f'hx-get="{url}"' in body and 'hx-swap="outerHTML"' in body

    fragment = html(client.get(url, **HX))
    assert "<html" not in fragment
    assert 'id="task-status"' in fragment and POLLING in fragment

    DBTaskResult.objects.filter(id=record.task_id).update(
        status="RUNNING", started_at=timezone.now()
    )
    fragment = html(client.get(url, **HX))
    assert 'data-state="running"' in fragment and POLLING in fragment

    DBTaskResult.objects.filter(id=record.task_id).update(
        status="SUCCESSFUL",
        finished_at=timezone.now(),
        return_value={"run_id": None, "status": "succeeded", "counts": {}, "errors": 0},
    )
    fragment = html(client.get(url, **HX))
    assert 'data-state="done"' in fragment and POLLING not in fragment
    assert "hx-get" not in fragment
    record.refresh_from_db()  # the page brought the record up to date
    assert record.status == "done"

    DBTaskResult.objects.filter(id=record.task_id).update(
        status="FAILED", exception_class_path="builtins.RuntimeError", traceback="..."
    )
    fragment = html(client.get(url, **HX))
    assert 'data-state="failed"' in fragment and "builtins.RuntimeError" in fragment
    assert POLLING not in fragment


def test_status_page_is_only_for_who_started_it_or_sees_every_project(
    manager, client, support, django_user_model
):
    record = project_sync_enqueue(project_ids=["prj_a"], user=manager)
    url = record.get_absolute_url()
    other = UserFactory(username="other-manager")
    client.force_login(other)
    assert client.get(url).status_code == 404
    assert client.get(url, **HX).status_code == 404
    for tampered in ("nope", "x" * 65, str(uuid.uuid4()), "%00", "' OR 1=1 --"):
        assert client.get(f"/tasks/{tampered}/").status_code == 404, tampered
    client.force_login(support)  # view_all_projects
    assert client.get(url).status_code == 200
    client.logout()
    assert client.get(url)["Location"].startswith("/accounts/login/")
    assert client.get(url, **HX)["HX-Redirect"].startswith("/accounts/login/")
    assert client.post(url).status_code in (302, 405)


def test_a_task_the_backend_no_longer_has_shows_its_last_known_state(manager, client):
    record = project_sync_enqueue(project_ids=["prj_a"], user=manager)
    DBTaskResult.objects.filter(id=record.task_id).delete()  # pruned
    body = html(client.get(record.get_absolute_url(), **HX))
    assert 'data-state="unknown"' in body and POLLING not in body
    TaskRecord.objects.filter(pk=record.pk).update(status="done", result={"errors": 0})
    body = html(client.get(record.get_absolute_url(), **HX))
    assert 'data-state="done"' in body


# --- the immediate backend and the re-fetch tasks -------------------------------------------------


def test_immediate_backend_runs_the_sync_in_process(small_synced, immediate, manager, client):
    project = Project.objects.order_by("layers_id").first()
    record = project_sync_enqueue(project_ids=[project.layers_id], user=manager)
    run = SyncRun.objects.order_by("-id").first()
    assert (run.trigger, run.triggered_by, run.status) == ("task", manager, "succeeded")
    assert record.status == "done"
    assert record.result == {
        "run_id": run.pk,
        "status": "succeeded",
        "counts": run.counts,
        "errors": 0,
    }
    assert set(record.result["counts"]) >= {"projects", "containers"}
    body = html(client.get(record.get_absolute_url()))
    assert 'data-state="done"' in body and POLLING not in body
    # No SyncRun link for someone who cannot open admin's sync runs.
    assert "/admin/sync/syncrun/" not in body


def test_a_failing_task_is_shown_failed(immediate, manager, client, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("sync.tasks.container_refetch", broken)
    record = container_refetch_enqueue(container_id="cnt_x", user=manager)
    assert record.status == "failed"
    body = html(client.get(record.get_absolute_url(), **HX))
    assert 'data-state="failed"' in body and POLLING not in body


def test_project_refetch_task_gets_and_syncs_one_project(small_synced, immediate, manager):
    project = Project.objects.order_by("layers_id").first()
    Project.objects.filter(pk=project.pk).update(name="stale name")
    record = project_refetch_enqueue(project_id=project.layers_id, user=manager)
    project.refresh_from_db()
    assert project.name != "stale name"
    run = SyncRun.objects.get(pk=record.result["run_id"])
    assert (run.trigger, run.project_ids, run.status) == ("task", [project.layers_id], "succeeded")
    assert record.kind == "project_refetch" and record.project_ids == [project.layers_id]


def test_container_refetch_stores_the_api_answer(small_synced, immediate, manager):
    container = ContentContainer.objects.order_by("layers_id").first()
    project = container.project
    before = container.synced_at
    ContentContainer.objects.filter(pk=container.pk).update(caption="stale", is_gone=True)
    # Any form of the id names the same container; the row keeps its own form.
    record = container_refetch_enqueue(
        container_id=container.layers_id.upper(), user=manager, project_id=project.layers_id
    )
    assert record.status == "done", record
    assert record.result == {
        "container_id": container.layers_id,
        "project_id": project.layers_id,
        "status": "stored",
    }
    fresh = ContentContainer.objects.get(pk=container.pk)
    assert fresh.caption == container.caption and not fresh.is_gone
    assert fresh.layers_id == container.layers_id and fresh.synced_at > before

    # Not stored yet (its project is): created from the answer.
    ContentContainer.objects.filter(pk=container.pk).delete()
    stored = container_refetch(container_id=container.layers_id)
    assert stored.project == project and stored.caption == container.caption
    project.refresh_from_db()
    assert project.content_count == ContentContainer.objects.filter(project=project).count()


def test_container_refetch_404_marks_it_gone(small_synced, immediate, manager):
    project = Project.objects.order_by("layers_id").first()
    ghost = ContentContainerFactory(
        project=project, layers_id="cnt_00000000-0000-4000-8000-00000000dead"
    )
    result = container_refetch_task.enqueue(container_id=ghost.layers_id)
    assert result.return_value == {"container_id": ghost.layers_id, "status": "gone"}
    ghost.refresh_from_db()
    assert ghost.is_gone and ghost.missing_since is not None
    # An id nobody stored: nothing to mark, still "gone".
    assert container_refetch(container_id="cnt_00000000-0000-4000-8000-00000000beef") is None


# --- RQ ---------------------------------------------------------------------------------------


def redis_url() -> str:
    from django.conf import settings

    return settings.LAYERS_TASKS_REDIS_URL


def redis_or_skip():
    import redis

    connection = redis.Redis.from_url(redis_url(), socket_connect_timeout=1)
    try:
        connection.ping()
    except redis.RedisError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"Redis at {redis_url()} is unreachable in CI: {exc}")
        pytest.skip(f"Redis at {redis_url()} is unreachable ({exc}); CI runs this test")
    return connection


@pytest.mark.django_db(transaction=True)
def test_rq_backend_runs_the_sync_on_an_rq_worker(
    small_synced, support, client, settings, tmp_path: Path
):
    connection = redis_or_skip()
    # A queue of our own on the shared Redis: another test run's worker never takes our job.
    queue = f"layersadmin-test-{uuid.uuid4().hex[:12]}"
    rq_queues = {
        "default": {"URL": redis_url()},
        queue: {"URL": redis_url(), "DEFAULT_TIMEOUT": 300},
    }
    tasks = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default", queue]}}
    settings.RQ_QUEUES = rq_queues
    settings.TASKS = tasks
    module = f"rq_test_settings_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{module}.py").write_text(
        "from layersadmin.settings import *  # noqa: F403\n"
        f"RQ_QUEUES = {rq_queues!r}\nTASKS = {tasks!r}\n"
    )
    project = Project.objects.order_by("layers_id").first()
    runs_before = SyncRun.objects.count()
    record = task_enqueue(
        project_sync_task.using(queue_name=queue),
        kind=TaskRecord.Kind.SYNC,
        user=support,
        project_ids=[project.layers_id],
        kwargs={"project_ids": [project.layers_id], "user_id": support.pk, "full": False},
    )
    assert SyncRun.objects.count() == runs_before
    assert default_task_backend.get_result(record.task_id).status == "READY"
    env = subprocess_env(
        small_synced.base_url,
        small_synced.keys["main"],
        LAYERS_API_TIER="unlimited",
        LAYERS_TASKS_BACKEND="rq",
        DJANGO_SETTINGS_MODULE=module,
        PYTHONPATH=os.pathsep.join([str(tmp_path), str(ROOT)]),
    )
    try:
        worker = subprocess.run(  # noqa: S603
            [PYTHON, str(ROOT / "manage.py"), "rqworker", "--burst"]
            + ["--job-class", "django_tasks_rq.Job", queue],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert worker.returncode == 0, worker.stdout + worker.stderr
        result = default_task_backend.get_result(record.task_id)
        assert result.status == "SUCCESSFUL", result.errors
        run = SyncRun.objects.order_by("-id").first()
        assert SyncRun.objects.count() == runs_before + 1
        assert (run.trigger, run.triggered_by, run.status) == ("task", support, "succeeded")
        assert result.return_value["run_id"] == run.pk
        client.force_login(support)
        body = html(client.get(record.get_absolute_url(), **HX))
        assert 'data-state="done"' in body and POLLING not in body
        record.refresh_from_db()
        assert record.status == "done" and record.result["run_id"] == run.pk
    finally:
        connection.srem("rq:queues", f"rq:queue:{queue}")
        for key in connection.scan_iter(match=f"*{queue}*"):
            connection.delete(key)
        for key in connection.scan_iter(match=f"rq:*{record.task_id}*"):
            connection.delete(key)


def test_support_sees_the_task_list_in_admin(client, support, manager):
    from django.contrib.auth.models import Group

    group = Group.objects.get(name="Support")
    assert group.permissions.filter(codename="view_taskrecord").exists()
    record = project_sync_enqueue(project_ids=["prj_a"], user=manager)
    client.force_login(support)
    page = client.get(reverse("admin:sync_taskrecord_changelist"))
    assert page.status_code == 200 and record.task_id in html(page)


# --- settings -------------------------------------------------------------------------------------

TASKS_PROBE = (
    "import json, django; from django.conf import settings; django.setup();"
    "print(json.dumps({'backend': settings.TASKS['default']['BACKEND'],"
    " 'rq': settings.RQ_QUEUES['default']['URL'],"
    " 'rq_apps': 'django_rq' in settings.INSTALLED_APPS}))"
)


def tasks_settings(**env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("LAYERS_TASKS_")}
    base.update({"DJANGO_SETTINGS_MODULE": "layersadmin.settings", "DEBUG": "true", **env})
    base.pop("DATABASE_URL", None)
    return subprocess.run(  # noqa: S603
        [PYTHON, "-c", TASKS_PROBE], cwd=ROOT, env=base, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    ("env", "backend", "rq_apps"),
    [
        ({}, "django_tasks_db.DatabaseBackend", False),
        ({"LAYERS_TASKS_BACKEND": "RQ"}, "django_tasks_rq.RQBackend", True),
        (
            {"LAYERS_TASKS_BACKEND": "immediate"},
            "django_tasks.backends.immediate.ImmediateBackend",
            False,
        ),
    ],
)
def test_tasks_backend_comes_from_the_environment(env, backend, rq_apps):
    result = tasks_settings(**env, LAYERS_TASKS_REDIS_URL="redis://redis.example:6379/5")
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert (info["backend"], info["rq_apps"]) == (backend, rq_apps)
    assert info["rq"] == "redis://redis.example:6379/5"


def test_an_unknown_tasks_backend_refuses_to_start():
    result = tasks_settings(LAYERS_TASKS_BACKEND="celery")
    assert result.returncode != 0
    assert "LAYERS_TASKS_BACKEND must be database, rq or immediate" in result.stderr
