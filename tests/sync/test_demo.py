"""`manage.py demo`: busy ports refused before anything starts, the banner (address, sandbox
key, the hand-run sync), a real key never printed."""

from __future__ import annotations

import socket
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from sync.management.commands import demo
from sync.management.commands.demo import DEMO_KEY, Command, banner, port_in_use


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def busy_port():
    """A port something listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield s.getsockname()[1]


@pytest.fixture
def nothing_may_start(monkeypatch, settings):
    """The sandbox, the sync, the worker and the server fail the test if they start."""
    settings.LAYERS_API_KEY = ""  # the demo would start its sandbox

    def started(*args, **kwargs):
        raise AssertionError("started although a port is busy")

    monkeypatch.setattr(Command, "_start_sandbox", started)
    monkeypatch.setattr(Command, "_start_worker", started)
    monkeypatch.setattr(demo, "layers_sync", started)
    monkeypatch.setattr(demo, "call_command", started)


def test_port_in_use(busy_port):
    assert port_in_use("127.0.0.1", busy_port)
    assert not port_in_use("127.0.0.1", free_port())


def test_a_busy_app_port_is_refused_before_anything_starts(busy_port, nothing_may_start):
    with pytest.raises(CommandError) as error:
        call_command("demo", "--port", str(busy_port), "--sandbox-port", str(free_port()))
    message = str(error.value)
    assert f"Port {busy_port} (the app) is already in use" in message
    assert "--port" in message and "make demo PORT=" in message
    assert "Nothing was started" in message


def test_a_busy_sandbox_port_is_refused_before_anything_starts(busy_port, nothing_may_start):
    with pytest.raises(CommandError) as error:
        call_command("demo", "--port", str(free_port()), "--sandbox-port", str(busy_port))
    message = str(error.value)
    assert f"Port {busy_port} (the sandbox) is already in use" in message
    assert "--sandbox-port" in message and "make demo SANDBOX_PORT=" in message


def test_the_same_port_twice_is_refused(nothing_may_start):
    port = free_port()
    with pytest.raises(CommandError, match="both"):
        call_command("demo", "--port", str(port), "--sandbox-port", str(port))


def test_banner_names_the_address_the_sandbox_and_its_key():
    text = banner(
        url="http://127.0.0.1:8123/",
        base_url="http://127.0.0.1:8124/v1",
        sandbox_key=DEMO_KEY,
        assigned=["Acme"],
    )
    assert "Open http://127.0.0.1:8123/" in text
    assert f"its API key: {DEMO_KEY}" in text
    assert (
        f"LAYERS_API_BASE_URL=http://127.0.0.1:8124/v1 LAYERS_API_KEY={DEMO_KEY} " in text
        and "manage.py sync_layers" in text
    )
    assert "manager  account manager of Acme" in text


def test_banner_with_a_real_key_prints_no_key():
    text = banner(url=None, base_url="https://api.layers.com/v1", sandbox_key=None, assigned=[])
    assert "LAYERS_API_KEY=" not in text
    assert "manage.py sync_layers" in text
    assert "Open " not in text  # --no-server


@pytest.mark.django_db
def test_demo_syncs_the_sandbox_on_its_port_and_prints_the_real_address(
    monkeypatch, settings, sandbox_factory
):
    settings.LAYERS_API_KEY = ""
    port, sandbox_port = free_port(), free_port()
    served = []

    def start_sandbox(self, port):  # a small in-process sandbox instead of the subprocess
        sandbox_factory(port=port, api_key=DEMO_KEY, projects=2, creatives_per_project=5)

    monkeypatch.setattr(Command, "_start_sandbox", start_sandbox)
    monkeypatch.setattr(Command, "_start_worker", lambda self: None)
    monkeypatch.setattr(demo, "call_command", lambda *args, **kw: served.append(args))
    out = StringIO()
    call_command("demo", "--port", str(port), "--sandbox-port", str(sandbox_port), stdout=out)
    text = out.getvalue()

    assert served == [("runserver", f"127.0.0.1:{port}")]
    assert f"Open http://127.0.0.1:{port}/" in text
    assert ":8000" not in text
    assert f"LAYERS_API_BASE_URL=http://127.0.0.1:{sandbox_port}/v1 LAYERS_API_KEY={DEMO_KEY}" in (
        text
    )
    assert "Sync #" in text and "succeeded" in text


@pytest.mark.django_db
def test_demo_never_prints_a_configured_real_key(monkeypatch, settings, sandbox_factory, capsys):
    real_key = "lp_live_REALREALREALREAL_" + "r" * 43
    server = sandbox_factory(api_key=real_key, projects=1, creatives_per_project=5)
    settings.LAYERS_API_BASE_URL = server.base_url
    settings.LAYERS_API_KEY = real_key

    def no_sandbox(self, port):
        raise AssertionError("a real key is configured: no sandbox")

    monkeypatch.setattr(Command, "_start_sandbox", no_sandbox)
    out, err = StringIO(), StringIO()
    call_command("demo", "--no-server", stdout=out, stderr=err)
    captured = capsys.readouterr()
    printed = out.getvalue() + err.getvalue() + captured.out + captured.err
    assert "Sync #" in printed
    assert real_key not in printed and real_key[:24] not in printed
    assert "LAYERS_API_KEY=" not in printed
