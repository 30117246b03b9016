"""The sandbox's webhook deliveries (sandbox/webhooks.py), received by a bare HTTP server:
signed over the body with the real clock (its own clock pinned), the documented events only,
in each dialect's shape, retried with the same event id, never holding up an API answer."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from sandbox.server import PINNED_NOW
from sandbox.util import parse_iso
from tests.webhooks.conftest import SECRET
from webhooks.payload import payload_read
from webhooks.signature import signature_verify

ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]


class Receiver:
    """Records every POST; answers with ``script`` in turn (then 200), after ``delay`` s."""

    def __init__(self, script=(), delay: float = 0.0) -> None:
        self.received: list[dict] = []
        self.script = list(script)
        self.delay = delay
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.received.append(
                    {"headers": dict(self.headers), "body": body, "at": time.time()}
                )
                time.sleep(receiver.delay)
                status = receiver.script.pop(0) if receiver.script else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def wait(self, count: int, timeout: float = 10.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.received

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def receiver():
    made: list[Receiver] = []

    def make(**kwargs) -> Receiver:
        made.append(Receiver(**kwargs))
        return made[-1]

    yield make
    for r in made:
        r.close()


def advance(server, hours: float = 6) -> dict:
    response = requests.post(f"{server.root_url}/_sandbox/advance?hours={hours}", timeout=30)
    response.raise_for_status()
    return response.json()


def completed_generated(server, summary: dict) -> set[str]:
    out = set()
    for project_id, changes in summary["projects"].items():
        project = server.store.projects[project_id]
        if project.org_id != server.store.org1.id:
            continue  # another organization's: its events go to its own endpoint
        for cid in changes.get("containersCompleted", []):
            if project.containers[cid].creative_type == "generated":
                out.add(cid)
    return out


def test_advance_sends_content_generated_signed_with_the_real_clock(sandbox_factory, receiver):
    hook = receiver()
    server = sandbox_factory(webhook_url=hook.url, webhook_secret=SECRET)
    summary = advance(server)
    expected = completed_generated(server, summary)
    assert expected, "the advance completed no generated container"
    got = hook.wait(len(expected))
    assert len(got) == len(expected)
    ids = set()
    for delivery in got:
        headers, body = delivery["headers"], delivery["body"]
        t = signature_verify(
            header=headers["X-Layers-Signature"], body=body, secrets=[SECRET], now=time.time()
        )
        assert abs(t - time.time()) < 30  # the real clock...
        assert abs(t - parse_iso(PINNED_NOW)) > 3600  # ...not the pinned one
        payload = json.loads(body)
        assert payload["id"] == headers["X-Layers-Event-Id"] and payload["id"].startswith("evt_")
        assert payload["type"] == "content.generated"
        assert payload["createdAt"] == summary["now"]  # the event's time is the world's
        data = payload["data"]
        assert data["status"] == "completed" and data["preview"]["primaryUrl"]
        assert data["projectId"].startswith("prj_")
        ids.add(data["id"])
    assert ids == expected
    assert server.info()["webhookUrl"] == hook.url and SECRET not in json.dumps(server.info())


def test_the_variant_dialect_sends_another_shape_the_receiver_still_reads(
    sandbox_factory, receiver
):
    hook = receiver()
    server = sandbox_factory(webhook_url=hook.url, webhook_secret=SECRET, dialect="variant")
    expected = completed_generated(server, advance(server))
    got = hook.wait(len(expected))
    payload = json.loads(got[0]["body"])
    assert payload["event"] == "content.generated" and "type" not in payload
    assert payload["occurredAt"].endswith("+00:00")
    assert "contentId" in payload["data"] and "id" not in payload["data"]
    read = payload_read(payload)
    assert read.event_type == "content.generated"
    assert {("cnt_" + payload_read(json.loads(d["body"])).container_id) for d in got} == expected
    assert not read.project_id.startswith("prj_") and len(read.project_id) == 36


def test_review_sends_approved_and_rejected_once(sandbox_factory, receiver):
    hook = receiver()
    server = sandbox_factory(webhook_url=hook.url, webhook_secret=SECRET)
    key = {"Authorization": f"Bearer {server.keys['main']}"}
    pending = [
        c
        for p in server.store.projects.values()
        if p.org_id == server.store.org1.id
        for c in server.store.materialize(p).containers.values()
        if c.approval == "pending"
    ][:2]
    assert len(pending) == 2
    first, second = pending
    approve = f"{server.base_url}/content/{first.id}/approve"
    replayed = {**key, "Idempotency-Key": "k-1"}
    assert requests.post(approve, headers=replayed, json={}, timeout=10).status_code == 200
    assert requests.post(approve, headers=replayed, json={}, timeout=10).status_code == 200
    assert requests.post(approve, headers=key, json={}, timeout=10).status_code == 409
    reject = f"{server.base_url}/content/{second.id}/reject"
    assert requests.post(reject, headers=key, json={"reason": "Off brand"}, timeout=10).ok
    # Another organization's review goes to its own endpoint, not ours.
    theirs = next(
        c
        for p in server.store.projects.values()
        if p.org_id == server.store.org2.id
        for c in server.store.materialize(p).containers.values()
        if c.approval == "pending"
    )
    other = {"Authorization": f"Bearer {server.keys['other_org']}"}
    answer = requests.post(
        f"{server.base_url}/content/{theirs.id}/approve", headers=other, json={}, timeout=10
    )
    assert answer.status_code == 200
    got = hook.wait(2)
    time.sleep(0.3)  # nothing more comes: a replay or a refusal changes nothing
    kinds = [(json.loads(d["body"])["type"], json.loads(d["body"])["data"]["id"]) for d in got]
    assert kinds == [("content.approved", first.id), ("content.rejected", second.id)]
    assert json.loads(got[1]["body"])["data"]["reason"] == "Off brand"


def test_a_failed_delivery_is_retried_with_the_same_id_and_body(sandbox_factory, receiver):
    hook = receiver(script=[503, 429])
    server = sandbox_factory(projects=1, webhook_url=hook.url, webhook_secret=SECRET)
    server.webhooks.delays = (0.0, 0.05, 0.05, 0.05)
    expected = completed_generated(server, advance(server, hours=12))
    got = hook.wait(len(expected) + 2)
    first_id = got[0]["headers"]["X-Layers-Event-Id"]
    tries = [d for d in got if d["headers"]["X-Layers-Event-Id"] == first_id]
    assert len(tries) == 3 and len({d["body"] for d in tries}) == 1
    state = requests.get(f"{server.root_url}/_sandbox/webhooks", timeout=5).json()
    first = next(d for d in state["deliveries"] if d["eventId"] == first_id)
    assert (first["attempts"], first["status"], first["outcome"]) == (3, 200, "delivered")


def test_a_4xx_other_than_429_is_not_retried(sandbox_factory, receiver):
    hook = receiver(script=[400])
    server = sandbox_factory(projects=1, webhook_url=hook.url, webhook_secret=SECRET)
    server.webhooks.delays = (0.0, 0.05, 0.05, 0.05)
    expected = completed_generated(server, advance(server, hours=12))
    got = hook.wait(len(expected))
    time.sleep(0.3)
    assert len(got) == len(expected)  # the refused one was not sent again
    outcomes = [d["outcome"] for d in server.webhooks.state()["deliveries"]]
    assert outcomes[0] == "refused" and set(outcomes[1:]) <= {"delivered"}


def test_a_rotation_signs_with_both_secrets(sandbox_factory, receiver):
    hook = receiver()
    server = sandbox_factory(projects=1, webhook_url=hook.url, webhook_secret=f"old,{SECRET}")
    advance(server, hours=12)
    header = hook.wait(1)[0]["headers"]["X-Layers-Signature"]
    assert header.count("v1=") == 2
    body = hook.received[0]["body"]
    for one in ("old", SECRET):
        signature_verify(header=header, body=body, secrets=[one], now=time.time())


def test_a_slow_receiver_never_holds_up_the_api(sandbox_factory, receiver):
    hook = receiver(delay=2.0)
    server = sandbox_factory(webhook_url=hook.url, webhook_secret=SECRET)
    started = time.monotonic()
    advance(server)
    assert time.monotonic() - started < 1.5
    assert hook.wait(1, timeout=5)


def test_no_url_no_deliveries_and_the_cli_wants_a_secret(sandbox_factory):
    server = sandbox_factory()
    assert server.webhooks is None and server.info()["webhookUrl"] is None
    assert requests.get(f"{server.root_url}/_sandbox/webhooks", timeout=5).json() == {"url": None}
    refused = subprocess.run(
        [sys.executable, "-m", "sandbox", "--port", "0", "--webhook-url", "http://127.0.0.1:9/x"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        env={"PATH": "/usr/bin:/bin", "SANDBOX_WEBHOOK_SECRET": ""},
    )
    assert refused.returncode == 2 and "--webhook-secret" in refused.stderr
