"""``{% load saved_views %}{% saved_views_control as sv %}``: what the "Saved views" control
of the page being rendered shows (``layersadmin.saved_views``), or None where it has none."""

from __future__ import annotations

from django import template

from layersadmin.addresses import query_normalise
from layersadmin.saved_views import PAGES, SavedViewsControl, control_for_page

register = template.Library()


@register.simple_tag(takes_context=True)
def saved_views_control(context) -> SavedViewsControl | None:
    """The control of this page: the views the person may see here (their own and their
    teams'), and the form that saves the filters in use. A view that already built one (the
    answer to a save or a delete) passes it as ``saved_views``.

    Only on a GET of one of ``PAGES``: the page is the URL name being served, its project the
    ``project`` of the context."""
    control = context.get("saved_views")
    if control is not None:
        return control
    request = context.get("request")
    user = getattr(request, "user", None)
    if request is None or request.method != "GET" or not getattr(user, "is_authenticated", 0):
        return None
    match = request.resolver_match
    page = PAGES.get(match.url_name if match else "")
    if page is None:
        return None
    project = context.get("project") if page.per_project else None
    if page.per_project and project is None:
        return None
    return control_for_page(
        user=user, page=page, project=project, query=query_normalise(request.GET)
    )
