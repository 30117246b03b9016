"""Settings are parsed from the environment: run Django in a child process with a given env."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROBE = (
    "import json, django; from django.conf import settings; django.setup();"
    "db = settings.DATABASES['default'];"
    "print(json.dumps({'engine': db['ENGINE'], 'name': str(db['NAME']), 'host': db.get('HOST'),"
    " 'debug': settings.DEBUG, 'api': settings.LAYERS_API_BASE_URL,"
    " 'ssl_redirect': getattr(settings, 'SECURE_SSL_REDIRECT', False),"
    " 'proxy': getattr(settings, 'SECURE_PROXY_SSL_HEADER', None)}))"
)


def run_settings(**overrides: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DEBUG", "SECRET_KEY"}}
    env.pop("LAYERS_API_BASE_URL", None)
    env.update({"DJANGO_SETTINGS_MODULE": "layersadmin.settings", **overrides})
    return subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def test_sqlite_file_in_project_folder_is_the_default():
    result = run_settings(DEBUG="true")
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["engine"] == "django.db.backends.sqlite3"
    assert info["name"] == str(ROOT / "db.sqlite3")
    assert info["api"] == "http://127.0.0.1:8001/v1"


def test_postgres_url_uses_the_postgresql_backend():
    result = run_settings(DEBUG="true", DATABASE_URL="postgres://u:p@db.example:5433/layers")
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["engine"] == "django.db.backends.postgresql"
    assert (info["name"], info["host"]) == ("layers", "db.example")


def test_missing_secret_key_with_debug_off_names_the_variable():
    result = run_settings(DEBUG="false", LAYERS_API_BASE_URL="https://api.layers.com/v1")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_missing_api_base_url_with_debug_off_names_the_variable():
    result = run_settings(DEBUG="false", SECRET_KEY="x" * 50)
    assert result.returncode != 0
    assert "LAYERS_API_BASE_URL must be set when DEBUG is off" in result.stderr


def test_production_turns_on_ssl_redirect_and_honours_proxy_header():
    result = run_settings(
        DEBUG="false",
        SECRET_KEY="x" * 50,
        LAYERS_API_BASE_URL="https://api.layers.com/v1",
        SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO,https",
    )
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["debug"] is False and info["ssl_redirect"] is True
    assert info["proxy"] == ["HTTP_X_FORWARDED_PROTO", "https"]
