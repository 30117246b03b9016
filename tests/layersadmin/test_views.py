from __future__ import annotations

from pathlib import Path
from unittest import mock

import pytest
from django.contrib.staticfiles import finders
from django.db import DatabaseError


@pytest.mark.django_db
def test_healthz_ok_when_database_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_healthz_503_when_database_unreachable(client):
    with mock.patch("layersadmin.views.connection.cursor", side_effect=DatabaseError("down")):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "error", "database": "unreachable"}


@pytest.mark.django_db
def test_protected_page_redirects_anonymous_user_to_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/")


@pytest.mark.django_db
def test_login_page_renders_and_carries_no_inline_script(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="username"' in html
    assert "<script>" not in html
    assert "default-src 'self'" in response["Content-Security-Policy"]


@pytest.mark.django_db
def test_base_template_loads_vendored_htmx_and_sends_csrf_header(client, user):
    client.force_login(user)
    response = client.get("/")
    html = response.content.decode()
    assert "vendor/htmx-2.0.11/htmx.min.js" in html
    assert 'hx-headers=\'{"X-CSRFToken": "' in html
    token = html.split('"X-CSRFToken": "')[1].split('"')[0]
    assert len(token) >= 32
    assert user.username in html
    assert "Log out" in html


@pytest.mark.django_db
def test_favicon_ico_redirects_to_the_svg_icon_that_pages_link(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 302
    icon = response["Location"]
    assert icon.endswith("/img/favicon.svg")
    # Tests serve no static files (DEBUG off, nothing collected): the file is there to serve.
    assert "<svg" in Path(finders.find("img/favicon.svg")).read_text()
    html = client.get("/accounts/login/").content.decode()
    assert f'<link rel="icon" href="{icon}" type="image/svg+xml">' in html
