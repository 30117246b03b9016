"""Site-wide views that belong to no domain app."""

from __future__ import annotations

from django.db import DatabaseError, connection
from django.http import (
    Http404,
    HttpRequest,
    HttpResponsePermanentRedirect,
    HttpResponseRedirect,
    JsonResponse,
)
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.cache import cache_control, never_cache
from django.views.decorators.http import require_GET

from layersadmin import __version__


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database answers, 503 when it does not (for load balancers, uptime checks)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        return JsonResponse({"status": "error", "database": "unreachable"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok", "version": __version__})


@require_GET
@cache_control(public=True, max_age=86400)
def favicon(request: HttpRequest) -> HttpResponseRedirect:
    """``/favicon.ico``, which browsers ask for on their own (admin pages, files opened
    directly): the SVG icon that ``base.html`` links. A temporary redirect, because its
    static address changes with its content in production (hashed file names)."""
    return HttpResponseRedirect(static("img/favicon.svg"))


# Admin pages whose model moved to another app: the old address, the app it lives in now.
MOVED_ADMIN_MODELS = {("projects", name): "sync" for name in ("syncrun", "synclease", "taskrecord")}


@require_GET
def admin_moved(request: HttpRequest, app_label: str, model: str, rest: str):
    """Bookmarks of admin pages whose model moved app (``/admin/projects/syncrun/…`` is now
    ``/admin/sync/syncrun/…``) land on the same page, filters kept. Staff only: the URLconf
    wraps it in ``admin_view``."""
    new_label = MOVED_ADMIN_MODELS.get((app_label, model))
    if new_label is None:
        raise Http404("No such admin page.")
    url = f"{reverse('admin:index')}{new_label}/{model}/{rest}"
    if request.META.get("QUERY_STRING"):
        url = f"{url}?{request.META['QUERY_STRING']}"
    return HttpResponsePermanentRedirect(url)
