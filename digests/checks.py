"""System checks of what the digests need from the settings: a site address that people's
mail clients can reach (links and the settings page in every digest; Slack alerts too)."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error, Warning, register


def _is_local(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@register()
def site_url_check(app_configs=None, **kwargs):
    """SITE_URL must be an http(s) address; with DEBUG off, not this machine's loopback
    (the DEBUG default), or every link in a digest leads nowhere."""
    url = str(getattr(settings, "SITE_URL", "") or "")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return [
            Error(
                f"SITE_URL must be this site's address, like https://layersadmin.example.com, "
                f"not {url!r}.",
                hint="Set SITE_URL in the environment (see .env.example).",
                id="digests.E001",
            )
        ]
    if not settings.DEBUG and _is_local(parts.hostname):
        return [
            Warning(
                f"SITE_URL is {url}: links in digest e-mails and Slack alerts would lead to "
                "the reader's own machine.",
                hint="Set SITE_URL to the address people open, e.g. https://layersadmin.example.com.",
                id="digests.W001",
            )
        ]
    return []
