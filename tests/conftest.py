"""Shared fixtures. The sandbox fixtures come from its own pytest plugin."""

from __future__ import annotations

import pytest

pytest_plugins = []


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user(username="amy", password="pw-amy-12345")
