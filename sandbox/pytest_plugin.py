"""pytest fixtures: a sandbox on a free loopback port.

Enable with ``pytest_plugins = ["sandbox.pytest_plugin"]`` (or ``-p sandbox.pytest_plugin``).

* ``sandbox_factory(**kwargs)`` -> a started :class:`SandboxServer` (stopped at teardown).
  Defaults: seed 1, 3 projects x 40 creatives, tier unlimited, dialect ``seed``, the clock
  pinned at ``PINNED_NOW`` (the same data on every run; ``now=None`` follows the wall
  clock); kwargs override them (``sandbox_factory(dialect="variant")``; names in
  ``sandbox.dialects.DIALECTS``).
* ``sandbox_server`` -> ``sandbox_factory()`` with the defaults (function-scoped).
"""

from __future__ import annotations

import pytest

from .server import PINNED_NOW, SandboxServer

FIXTURE_DEFAULTS = {
    "seed": 1,
    "projects": 3,
    "creatives_per_project": 40,
    "tier": "unlimited",
    "dialect": "seed",
    "now": PINNED_NOW,
}


@pytest.fixture
def sandbox_factory():
    started: list[SandboxServer] = []

    def make(**kwargs) -> SandboxServer:
        srv = SandboxServer(**{**FIXTURE_DEFAULTS, **kwargs})
        srv.start()
        started.append(srv)
        return srv

    yield make
    for srv in started:
        srv.stop()


@pytest.fixture
def sandbox_server(sandbox_factory) -> SandboxServer:
    return sandbox_factory()
