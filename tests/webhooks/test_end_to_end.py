"""End to end, every hop real: the sandbox (real HTTP, its clock pinned) sends signed webhooks
to the app (a live server), the app queues a task in the database, a ``db_worker`` in another
process (sharing the test database file) re-fetches, and the new container is in the database,
with no sync run. Then a review in Layers arrives the same way."""

from __future__ import annotations

import subprocess
import time

import pytest
import requests

from creatives.models import ContentContainer
from layersadmin.layers.ids import id_key
from sync.models import SyncRun
from sync.services import layers_sync
from tests.conftest import make_client
from tests.reliability.helpers import manage, subprocess_env
from tests.webhooks.conftest import SECRET
from webhooks.models import PendingRefetch, WebhookEvent

pytestmark = pytest.mark.django_db(transaction=True)


def wait_for(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@pytest.fixture
def worker_for(tmp_path):
    """A running ``db_worker`` (as ``make demo`` runs one) against the test database; its
    output goes to a file, shown when the test fails."""
    started: list[subprocess.Popen] = []
    log = tmp_path / "worker.log"

    def start(server) -> subprocess.Popen:
        env = subprocess_env(server.base_url, server.keys["main"], LAYERS_API_TIER="unlimited")
        with log.open("w") as out:
            process = manage(
                "db_worker",
                "--no-reload",
                "--no-startup-delay",
                "--interval",
                "0.2",
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        process.log = log
        started.append(process)
        return process

    yield start
    for process in started:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_a_sandbox_event_reaches_the_database_without_a_sync(
    live_server, sandbox_factory, settings, worker_for
):
    settings.LAYERS_WEBHOOK_SECRET = SECRET
    server = sandbox_factory(
        webhook_url=f"{live_server.url}/webhooks/layers/", webhook_secret=SECRET
    )
    settings.LAYERS_API_BASE_URL = server.base_url
    settings.LAYERS_API_KEY = server.keys["main"]
    client = make_client(server)
    try:
        assert layers_sync(client=client).ok  # the mirror as a scheduled sync left it
    finally:
        client.close()
    runs = SyncRun.objects.count()
    worker = worker_for(server)

    # The sandbox's world moves on: containers complete, and content.generated is sent.
    started = time.monotonic()
    summary = requests.post(f"{server.root_url}/_sandbox/advance?hours=6", timeout=30).json()
    completed = {
        (cid, cid in changes.get("containersCreated", []))
        for pid, changes in summary["projects"].items()
        for cid in changes.get("containersCompleted", [])
        if server.store.projects[pid].org_id == server.store.org1.id  # the main key's
        and server.store.projects[pid].containers[cid].creative_type == "generated"
    }
    new = {cid for cid, created in completed if created}
    assert new, "the advance made no new generated container that completed"
    # New ones are not mirrored yet; ones in flight at the sync are, not completed.
    assert not ContentContainer.objects.filter(key__in={id_key(c) for c in new}).exists()
    keys = {id_key(cid) for cid, _ in completed}
    assert not ContentContainer.objects.filter(key__in=keys, status="completed").exists()

    def all_stored():
        return ContentContainer.objects.filter(key__in=keys, status="completed").count() == len(
            keys
        )

    try:
        wait_for(all_stored, 25, f"{len(keys)} completed containers in the database")
    except AssertionError:
        print(worker.log.read_text()[-5000:])
        raise
    elapsed = time.monotonic() - started
    print(
        f"advance -> {len(keys)} completed containers ({len(new)} new) stored by the worker "
        f"in {elapsed:.1f} s"
    )
    assert worker.poll() is None, worker.log.read_text()[-5000:]
    stored = ContentContainer.objects.filter(key__in=keys)
    assert all(c.preview_url for c in stored)  # the GET's answer, preview included
    assert SyncRun.objects.count() == runs, "a sync ran: the webhook path must not need one"
    wait_for(
        lambda: not WebhookEvent.objects.exclude(status="processed").exists(),
        10,
        "every event processed",
    )
    assert WebhookEvent.objects.filter(event_type="content.generated").count() >= len(keys)
    assert not PendingRefetch.objects.exists()
    deliveries = requests.get(f"{server.root_url}/_sandbox/webhooks", timeout=5).json()
    assert {d["outcome"] for d in deliveries["deliveries"]} == {"delivered"}

    # Someone approves a container in Layers: the local row follows, again without a sync.
    pending = (
        ContentContainer.objects.filter(approval_status="pending").order_by("layers_id").first()
    )
    assert pending is not None
    answer = requests.post(
        f"{server.base_url}/content/{pending.layers_id}/approve",
        headers={"Authorization": f"Bearer {server.keys['teammate']}"},
        json={},
        timeout=10,
    )
    assert answer.status_code == 200
    wait_for(
        lambda: ContentContainer.objects.get(pk=pending.pk).approval_status == "approved",
        15,
        "the approval to arrive",
    )
    assert SyncRun.objects.count() == runs
