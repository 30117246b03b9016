"""Fixtures of the reliability suite: a small synced site with one user per role."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.cache import cache
from django.test import Client

from creatives.models import AdsContent, OverrideAudit
from projects.models import Project
from sync.models import TaskRecord
from sync.services import layers_sync
from tests.reliability.helpers import fast_client

ROLES = ("anonymous", "manager", "other_manager", "support", "superuser")
PASSWORD = "pw-reliability-2026-secret"


def _grant(user, *codenames: str) -> None:
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))


def make_role_users(django_user_model) -> dict:
    """One user per role. The groups come from the admin's data migration when it exists;
    until then the same rights are granted directly (account managers may override, support
    sees every project and uses admin)."""
    managers = Group.objects.filter(name="Account managers").first()
    support_group = Group.objects.filter(name="Support").first()
    users = {}
    for role in ("manager", "other_manager"):
        user = django_user_model.objects.create_user(username=role, password=PASSWORD)
        if managers is not None:
            user.groups.add(managers)
        else:
            _grant(user, "change_override")
        users[role] = user
    support = django_user_model.objects.create_user(
        username="support", password=PASSWORD, is_staff=True
    )
    if support_group is not None:
        support.groups.add(support_group)
    else:
        _grant(support, "view_all_projects")
    users["support"] = support
    users["superuser"] = django_user_model.objects.create_superuser(
        username="root", password=PASSWORD, email="root@example.com"
    )
    return users


@pytest.fixture
def site(sandbox_factory, settings, django_user_model):
    """Two synced projects (A and B), a manager for each, support and a superuser."""
    server = sandbox_factory(seed=11, projects=2, creatives_per_project=8)
    settings.LAYERS_API_BASE_URL = server.base_url
    settings.LAYERS_API_KEY = server.keys["main"]
    settings.LAYERS_API_MAX_ATTEMPTS = 2
    settings.LAYERS_API_BACKOFF_BASE = 0.005
    client = fast_client(server)
    assert layers_sync(client=client).ok
    cache.clear()
    a, b = Project.objects.order_by("layers_id")[:2]
    users = make_role_users(django_user_model)
    a.account_managers.add(users["manager"])
    b.account_managers.add(users["other_manager"])
    creative_a = AdsContent.objects.filter(project=a).order_by("layers_id").first()
    creative_b = AdsContent.objects.filter(project=b).order_by("layers_id").first()
    OverrideAudit.objects.create(
        user=users["manager"],
        project=a,
        ads_content=creative_a,
        after_override="include",
        note="history row",
        idempotency_key="fixture",
        outcome="succeeded",
    )
    # A background task the manager started (its page: tests/reliability/test_access.py).
    task = TaskRecord.objects.create(
        task_id="00000000-0000-4000-8000-0000000000a1",
        kind=TaskRecord.Kind.SYNC,
        user=users["manager"],
        project_ids=[a.layers_id],
        status="done",
        result={"run_id": None, "status": "succeeded", "counts": {}, "errors": 0},
    )
    clients = {"anonymous": Client()}
    for role, user in users.items():
        clients[role] = Client()
        clients[role].force_login(user)
    yield SimpleNamespace(
        server=server,
        a=a,
        b=b,
        creative_a=creative_a,
        creative_b=creative_b,
        task=task,
        users=users,
        clients=clients,
    )
    client.close()
