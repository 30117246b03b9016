"""Shared fixtures.

The sandbox (a real HTTP server on loopback) comes from its own pytest plugin; these fixtures
point layersadmin's settings at it and run the real sync against it.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission

from layersadmin.layers import LayersClient

pytest_plugins = ["sandbox.pytest_plugin", "tests.browser.fixtures"]

HX = {"HTTP_HX_REQUEST": "true"}  # what htmx sends: ask a view for its fragment


def html(response) -> str:
    return response.content.decode()


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test starts with an empty cache: a customer confirmation cached by one test (same
    sandbox seed, same project ids) must not answer for the next."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
    from layersadmin.layers.budget import close_shared

    close_shared()  # a shared rate budget's own connection must not outlive the test database


@pytest.fixture
def manager(client):
    """An account manager, signed in."""
    from tests.factories import UserFactory

    user = UserFactory(username="maria")
    client.force_login(user)
    return user


@pytest.fixture
def project(manager):
    """A project assigned to ``manager``."""
    from tests.factories import ProjectFactory

    project = ProjectFactory(name="Bluebird Fitness", timezone="America/Denver")
    project.account_managers.add(manager)
    return project


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user(username="amy", password="pw-amy-12345")


@pytest.fixture
def layers(settings, sandbox_server):
    """The sandbox, with settings pointing the client at it (main key: every scope)."""
    settings.LAYERS_API_BASE_URL = sandbox_server.base_url
    settings.LAYERS_API_KEY = sandbox_server.keys["main"]
    settings.LAYERS_API_MAX_ATTEMPTS = 3
    settings.LAYERS_API_BACKOFF_BASE = 0.01
    # The fixture's sandbox is unlimited; name it, or clients pace as standard (REFERENCE 5).
    settings.LAYERS_API_TIER = "unlimited"
    return sandbox_server


def make_client(server, key: str = "main", **overrides) -> LayersClient:
    """A client of ``server``; ``tier`` defaults to "unlimited" (pass the sandbox's own tier
    when it is paced, e.g. ``make_client(srv, tier="standard")``)."""
    options = {"backoff_base": 0.01, "backoff_cap": 0.05, "retry_after_cap": 2.0}
    options["tier"] = "unlimited"
    options.update(overrides)
    return LayersClient(base_url=server.base_url, api_key=server.keys[key], **options)


@pytest.fixture
def layers_client(layers):
    client = make_client(layers)
    yield client
    client.close()


@pytest.fixture
def synced(layers, layers_client, django_db_blocker):
    """The sandbox after one complete sync into the test database."""
    from sync.services import layers_sync

    result = layers_sync(client=layers_client)
    assert result.ok, result.errors
    return layers


def grant(user, *codenames: str) -> None:
    """Give ``user`` permissions by codename (e.g. "view_all_projects", "change_override")."""
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    for attr in ("_perm_cache", "_user_perm_cache"):
        if hasattr(user, attr):
            delattr(user, attr)
