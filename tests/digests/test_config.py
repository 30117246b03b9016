"""Mail and site address settings from the environment, the site address check (and that
CI's `check --deploy` still passes), and the read-only admin of the sendings."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.checks import Error, Warning

from digests import vocabulary as v
from digests.checks import site_url_check
from digests.models import DigestSending
from tests.digests.helpers import at, person

ROOT = Path(__file__).resolve().parents[2]
PROBE = (
    "import json, django; from django.conf import settings; django.setup();"
    "print(json.dumps({k: getattr(settings, k, None) for k in ("
    "'EMAIL_BACKEND', 'EMAIL_HOST', 'EMAIL_PORT', 'EMAIL_HOST_USER', 'EMAIL_HOST_PASSWORD',"
    "'EMAIL_USE_TLS', 'EMAIL_USE_SSL', 'DEFAULT_FROM_EMAIL', 'SITE_URL')}))"
)
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "ci-" + secrets.token_urlsafe(50),
    "LAYERS_API_BASE_URL": "https://api.layers.com/v1",
    "LAYERS_API_KEY": "lp_test_CIKEYCIKEYCIKEYC_notarealsecret",
}


def child_env(**overrides: str) -> dict[str, str]:
    drop = ("EMAIL_", "DEFAULT_FROM_EMAIL", "SITE_URL", "ALLOWED_HOSTS", "DATABASE_URL", "DEBUG")
    env = {k: val for k, val in os.environ.items() if not k.startswith(drop)}
    env.pop("SECRET_KEY", None)
    env.pop("LAYERS_API_BASE_URL", None)
    # Set by the browser tests' session fixture; a deployment never has it (async.E001).
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    env.update({"DJANGO_SETTINGS_MODULE": "layersadmin.settings", **overrides})
    return env


def settings_of(**overrides: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=child_env(**overrides),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def deploy_check(**overrides: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=child_env(**overrides),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_debug_without_mail_settings_prints_to_the_console():
    found = settings_of(DEBUG="true")
    assert found["EMAIL_BACKEND"] == "django.core.mail.backends.console.EmailBackend"
    assert found["SITE_URL"] == "http://127.0.0.1:8000"


def test_email_url_with_starttls_and_quoted_credentials():
    found = settings_of(
        DEBUG="true",
        EMAIL_URL="smtp+tls://digest%40agency.example:p%3Ass%40word@mail.example.com",
        DEFAULT_FROM_EMAIL="Agency <alerts@agency.example>",
    )
    assert found["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert (found["EMAIL_HOST"], found["EMAIL_PORT"]) == ("mail.example.com", 587)
    assert (found["EMAIL_USE_TLS"], found["EMAIL_USE_SSL"]) == (True, False)
    assert found["EMAIL_HOST_USER"] == "digest@agency.example"
    assert found["EMAIL_HOST_PASSWORD"] == "p:ss@word"
    assert found["DEFAULT_FROM_EMAIL"] == "Agency <alerts@agency.example>"


def test_email_host_variables():
    found = settings_of(
        DEBUG="true",
        EMAIL_HOST="smtp.example.com",
        EMAIL_PORT="2525",
        EMAIL_HOST_USER="u",
        EMAIL_HOST_PASSWORD="pw",
        EMAIL_USE_TLS="false",
    )
    assert found["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert (found["EMAIL_HOST"], found["EMAIL_PORT"], found["EMAIL_USE_TLS"]) == (
        "smtp.example.com",
        2525,
        False,
    )


def test_production_without_mail_settings_uses_smtp_never_the_console():
    found = settings_of(**PRODUCTION, ALLOWED_HOSTS="layersadmin.example.com")
    assert found["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    # No SITE_URL: https:// and the site's host name.
    assert found["SITE_URL"] == "https://layersadmin.example.com"


def test_cis_deploy_check_still_passes():
    result = deploy_check(**PRODUCTION, ALLOWED_HOSTS="layersadmin.example.com")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "digests.W001" not in result.stdout + result.stderr


def test_deploy_check_warns_when_links_would_lead_to_localhost():
    result = deploy_check(**PRODUCTION)  # ALLOWED_HOSTS' default: 127.0.0.1 first
    assert result.returncode != 0
    assert "digests.W001" in result.stdout + result.stderr
    fixed = deploy_check(**PRODUCTION, SITE_URL="https://layersadmin.example.com")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr


def test_site_url_check(settings):
    settings.DEBUG = True
    settings.SITE_URL = "http://127.0.0.1:8000"
    assert site_url_check() == []
    settings.SITE_URL = "layersadmin.example.com"  # no scheme
    assert [type(m) for m in site_url_check()] == [Error]
    settings.DEBUG = False
    settings.SITE_URL = "http://localhost:8000"
    assert [(type(m), m.id) for m in site_url_check()] == [(Warning, "digests.W001")]
    settings.SITE_URL = "https://layersadmin.example.com"
    assert site_url_check() == []


# --- admin ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_admin_lists_searches_and_shows_sendings_read_only(admin_client):
    maria = person("maria")
    row = DigestSending.objects.create(
        user=maria,
        frequency=v.DIGEST_DAILY,
        period_start=at("2026-11-03 00:00").date(),
        period_end=at("2026-11-04 00:00").date(),
        timezone="UTC",
        starts_at=at("2026-11-03 00:00"),
        ends_at=at("2026-11-04 00:00"),
        status=v.FAILED,
        error="SMTPRecipientsRefused: <script>x</script>",
        attempts=1,
    )
    base = "/admin/digests/digestsending/"
    assert admin_client.get(base).status_code == 200
    listed = admin_client.get(base, {"q": "maria"})
    assert listed.status_code == 200 and "maria" in listed.content.decode()
    detail = admin_client.get(f"{base}{row.pk}/change/")
    page = detail.content.decode()
    assert detail.status_code == 200 and "<script>x</script>" not in page
    assert 'name="status"' not in page  # read-only: no form field
    assert admin_client.get(f"{base}add/").status_code == 403
