"""Saving and deleting a saved view (``layersadmin.saved_views``): two POSTs.

They live here, not next to the model, because a project's page needs the project access rule
(``projects.selectors.project_for_user``) and the base app imports no app above it.

Each answers htmx with the page's "Saved views" control again (the new list and what
happened; a refusal is a 422 with the reason, and the name typed is kept), and a plain POST
with a message and a redirect back to the page, its filters kept.

What is saved is decided here, never taken from the form on trust: the page must be one of
``PAGES``, its project one the person may see (else the usual 404), and the filters are the
address the form was sent from (htmx's ``HX-Current-URL``: the address bar, which the filters
above the control change without a reload) or, without JavaScript, the form's own copy.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import patch_vary_headers
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from layersadmin.addresses import query_normalise
from layersadmin.htmx import HtmxHttpRequest, login_required, wants_fragment
from layersadmin.layers.ids import id_key
from layersadmin.models import SavedView
from layersadmin.saved_views import (
    PAGE_REFUSED,
    PAGES,
    Page,
    SavedViewForm,
    control_for_page,
    page_of_url,
    page_url,
    saved_view_create,
    saved_view_delete,
)
from projects.models import Project
from projects.selectors import project_for_user


def _current_query(request: HtmxHttpRequest, page: Page, project: Project | None) -> str:
    """The filters of the page the form was sent from, normalised."""
    current = page_of_url(request.headers.get("HX-Current-URL", ""), request)
    same_project = current is not None and (
        project is None or id_key(current.project_id) == project.key
    )
    if current is not None and current.page == page and same_project:
        return current.query
    return query_normalise(request.POST.get("query", ""))


def _answer(
    request: HtmxHttpRequest,
    *,
    page: Page,
    project: Project | None,
    query: str,
    notice: str = "",
    errors: list[str] | None = None,
    form: SavedViewForm | None = None,
) -> HttpResponse:
    if not wants_fragment(request):
        for error in errors or []:
            messages.error(request, error)
        if notice:
            messages.success(request, notice)
        return redirect(page_url(page=page.name, project=project, query=query))
    control = control_for_page(
        user=request.user,
        page=page,
        project=project,
        query=query,
        form=form if errors else None,
        notice=notice,
        errors=errors or [],
        open=bool(errors),
    )
    response = render(
        request,
        "layersadmin/saved_views.html",
        {"saved_views": control, "project": project},
        status=422 if errors else 200,
    )
    patch_vary_headers(response, ("HX-Request",))
    return response


@require_POST
@login_required
def saved_view_create_view(request: HtmxHttpRequest) -> HttpResponse:
    """Save the filters of the page the form is on under a name, for the person or a team."""
    page = PAGES.get(request.POST.get("page", ""))
    if page is None:  # nothing to go back to: say so where the person is
        if wants_fragment(request):
            html = format_html(
                '<section class="saved-views" id="saved-views" data-swap-errors>'
                '<p class="msg msg-error" role="alert">{}</p></section>',
                PAGE_REFUSED,
            )
            return HttpResponse(html, status=422)
        messages.error(request, PAGE_REFUSED)
        return redirect("project_list")
    project = (
        project_for_user(request.user, request.POST.get("project", ""))
        if (page.per_project)
        else None
    )
    query = _current_query(request, page, project)
    form = SavedViewForm(request.POST, user=request.user)
    if not form.is_valid():
        errors = [e for field_errors in form.errors.values() for e in field_errors]
        return _answer(request, page=page, project=project, query=query, errors=errors, form=form)
    try:
        view = saved_view_create(
            owner=request.user,
            page=page.name,
            project=project,
            name=form.cleaned_data["name"],
            query=query,
            group=form.group(),
        )
    except ValidationError as exc:
        errors = [m for field_messages in exc.message_dict.values() for m in field_messages]
        return _answer(request, page=page, project=project, query=query, errors=errors, form=form)
    who = f"your team {view.group.name}" if view.group else "you only"
    notice = f"Saved “{view.name}” for {who}. Its link opens these filters."
    return _answer(request, page=page, project=project, query=query, notice=notice)


@require_POST
@login_required
def saved_view_delete_view(request: HtmxHttpRequest, view_id: int) -> HttpResponse:
    """Delete one of the person's own views (anyone else's: 404)."""
    try:
        view = saved_view_delete(owner=request.user, view_id=view_id)
    except SavedView.DoesNotExist:
        raise Http404("No such saved view of yours.") from None
    page = PAGES.get(view.page)
    notice = f"Deleted the saved view “{view.name}”."
    if page is None:  # a page that no longer has saved views
        messages.success(request, notice)
        return redirect("project_list")
    query = _current_query(request, page, view.project)
    return _answer(request, page=page, project=view.project, query=query, notice=notice)
