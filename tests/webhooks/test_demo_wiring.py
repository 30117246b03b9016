"""`make demo` wires the webhooks: the sandbox it starts (a real subprocess) signs its events
with a generated secret and sends them to the app's /webhooks/layers/, whose secret is set."""

from __future__ import annotations

import json
import time
from io import StringIO

import pytest
import requests
from django.core.management import call_command

from sync.management.commands import demo
from sync.management.commands.demo import DEMO_KEY, Command
from tests.sync.test_demo import free_port
from tests.webhooks.test_sandbox_webhooks import Receiver
from webhooks.signature import signature_verify


@pytest.mark.django_db
def test_demo_gives_the_sandbox_the_apps_webhook_url_and_a_secret(
    monkeypatch, settings, sandbox_factory
):
    settings.LAYERS_API_KEY = ""
    settings.LAYERS_WEBHOOK_SECRET = ""
    port, sandbox_port = free_port(), free_port()
    seen = {}

    def start_sandbox(self, port):
        seen.update(url=self.webhook_url, secret=self.webhook_secret)
        sandbox_factory(port=port, api_key=DEMO_KEY, projects=2, creatives_per_project=5)

    monkeypatch.setattr(Command, "_start_sandbox", start_sandbox)
    monkeypatch.setattr(Command, "_start_worker", lambda self: None)
    monkeypatch.setattr(demo, "call_command", lambda *args, **kw: None)
    out = StringIO()
    call_command("demo", "--port", str(port), "--sandbox-port", str(sandbox_port), stdout=out)
    text = out.getvalue()
    assert seen["url"] == f"http://127.0.0.1:{port}/webhooks/layers/"
    assert len(seen["secret"]) == 64 and seen["secret"] == settings.LAYERS_WEBHOOK_SECRET
    assert seen["url"] in text and seen["secret"] not in text
    assert f"curl -X POST 'http://127.0.0.1:{sandbox_port}/_sandbox/advance?hours=3'" in text


@pytest.mark.django_db
def test_demo_keeps_a_configured_secret_and_wires_nothing_without_a_server(
    monkeypatch, settings, sandbox_factory
):
    settings.LAYERS_API_KEY = ""
    settings.LAYERS_WEBHOOK_SECRET = "mine-1,mine-2"
    seen = {}

    def start_sandbox(self, port):
        seen.update(url=self.webhook_url, secret=self.webhook_secret)
        sandbox_factory(port=port, api_key=DEMO_KEY, projects=1, creatives_per_project=5)

    monkeypatch.setattr(Command, "_start_sandbox", start_sandbox)
    call_command("demo", "--no-server", "--sandbox-port", str(free_port()), stdout=StringIO())
    assert seen == {"url": None, "secret": None}  # no app to receive them
    assert settings.LAYERS_WEBHOOK_SECRET == "mine-1,mine-2"


def test_the_sandbox_the_demo_starts_sends_signed_webhooks():
    """The real subprocess, with the URL and the secret from the environment."""
    receiver = Receiver()
    command = Command(stdout=StringIO())
    command.webhook_url = receiver.url
    command.webhook_secret = "demo-secret-" + "x" * 20
    port = free_port()
    process = command._start_sandbox(port)
    try:
        root = f"http://127.0.0.1:{port}"
        assert requests.get(f"{root}/_sandbox/info", timeout=5).json()["webhookUrl"] == (
            receiver.url
        )
        requests.post(f"{root}/_sandbox/advance?hours=12", timeout=60).raise_for_status()
        got = receiver.wait(1, timeout=15)
        assert got, "the sandbox sent nothing"
        delivery = got[0]
        signature_verify(
            header=delivery["headers"]["X-Layers-Signature"],
            body=delivery["body"],
            secrets=[command.webhook_secret],
            now=time.time(),
        )
        assert json.loads(delivery["body"])["type"] == "content.generated"
    finally:
        demo._stop(process)
        receiver.close()
