"""One URL, two answers: the full page, or for an htmx request only the fragment it swaps.

The decision is made here and nowhere else. Every such response carries ``Vary: HX-Request``
so a browser or proxy cache never serves a fragment where a page was asked for (or back).
``login_required`` keeps a signed-out htmx request from swapping a login form into a page.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_required as django_login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render, resolve_url
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django_htmx.http import HttpResponseClientRedirect
from django_htmx.middleware import HtmxDetails


class HtmxHttpRequest(HttpRequest):
    """An HttpRequest after django-htmx's middleware (for type hints in views)."""

    htmx: HtmxDetails


def wants_fragment(request: HttpRequest) -> bool:
    """True for an htmx request that swaps part of a page.

    Not for a history restore (the back button after ``hx-push-url``: htmx then wants the
    whole page) nor for a boosted link (also a whole page).
    """
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.history_restore_request and not htmx.boosted


def render_htmx(
    request: HttpRequest,
    template_name: str,
    context: dict[str, Any],
    *,
    fragment: str | None,
    status: int = 200,
) -> HttpResponse:
    """Render ``template_name``, or its named partial ``fragment`` for an htmx request."""
    name = f"{template_name}#{fragment}" if fragment and wants_fragment(request) else template_name
    response = render(request, name, context, status=status)
    # A fragment and the whole page (a history restore sends HX-Request too) are cached apart.
    patch_vary_headers(response, ("HX-Request", "HX-History-Restore-Request"))
    return response


def login_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Django's ``login_required``, but an htmx request of a signed-out user (an expired
    session) sends the whole browser to the login page (``HX-Redirect``) instead of letting
    htmx swap the login form into a table row."""
    guarded = django_login_required(view)

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if getattr(request, "htmx", False) and not request.user.is_authenticated:
            back = request.htmx.current_url_abs_path or request.get_full_path()
            login = resolve_url(settings.LOGIN_URL)
            return HttpResponseClientRedirect(f"{login}?{urlencode({'next': back})}")
        return guarded(request, *args, **kwargs)

    return wrapper


def local_next(request: HttpRequest, candidate: str, default: str) -> str:
    """``candidate`` when it is a local path of this site ("/…", never "//host", "\\host" or a
    control character): where a form may send the person back to. Else ``default``."""
    if not candidate.startswith("/") or candidate[1:2] in ("/", "\\"):
        return default
    if any(ord(c) < 32 for c in candidate):
        return default
    if url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return default
