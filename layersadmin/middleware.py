"""Project middleware."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from csp.middleware import CSPMiddleware, PolicyParts
from django.conf import settings

RENEWED_KEY = "_renewed"  # when this session was last renewed (a Unix time)
MAX_RENEW_INTERVAL = 60.0  # seconds


def renew_interval() -> float:
    """How stale a session may be before a request renews it: a minute, or less for sessions
    that last under 100 minutes (a hundredth of their idle limit), so the limit stays exact to
    within one percent."""
    return min(MAX_RENEW_INTERVAL, settings.SESSION_COOKIE_AGE / 100)


class IdleSessionMiddleware:
    """Sign-out after ``SESSION_COOKIE_AGE`` seconds without a request, at the cost of one
    session write a minute per signed-in person rather than one per request (which is what
    ``SESSION_SAVE_EVERY_REQUEST`` costs: a database write on every page, fragment and
    health check, and on SQLite a wait for the one writer).

    A request to a session last renewed over ``renew_interval()`` ago marks it modified, so
    ``SessionMiddleware`` saves it with a new expiry date and sends a new cookie. Sits below
    ``SessionMiddleware``; requests without a session (anonymous) are left alone.
    """

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        session = getattr(request, "session", None)
        if session is None or session.session_key is None:
            return response
        renewed = session.get(RENEWED_KEY)  # loads the session if the view did not
        if session.session_key is None:
            return response  # the cookie named no live session (expired): nothing to renew
        now = time.time()
        if not isinstance(renewed, int | float) or now - renewed >= renew_interval():
            session[RENEWED_KEY] = now
        return response


def layers_api_origin() -> str:
    """``scheme://host[:port]`` of ``LAYERS_API_BASE_URL`` (no path, no credentials), or ""."""
    parts = urlsplit(settings.LAYERS_API_BASE_URL or "")
    host = parts.netloc.rpartition("@")[2]
    return f"{parts.scheme}://{host}" if parts.scheme and host else ""


class LayersCSPMiddleware(CSPMiddleware):
    """django-csp's middleware, with the Layers API's origin allowed in ``img-src`` and
    ``media-src``: the API serves the previews and thumbnails (the sandbox does, on whatever
    port the demo or a test gave it). The origin is read from ``LAYERS_API_BASE_URL`` at
    each response, so the policy follows the setting wherever it is changed; it is not in
    ``CONTENT_SECURITY_POLICY``, which is read once at start-up."""

    def get_policy_parts(self, request, response, report_only: bool = False) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        origin = layers_api_origin()
        if report_only or not origin:
            return parts
        update = {key: list(value) for key, value in (parts.update or {}).items()}
        for directive in ("img-src", "media-src"):
            update.setdefault(directive, []).append(origin)
        parts.update = update
        return parts
