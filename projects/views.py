"""Dashboard views for projects: the list (`/`). One project's overview reads creatives, so
it lives in ``creatives.views`` (its URL is unchanged)."""

from __future__ import annotations

from django.http import HttpResponse
from django.views.decorators.http import require_GET

from layersadmin.htmx import HtmxHttpRequest, login_required, render_htmx
from projects import selectors
from projects.forms import ProjectFilterForm
from projects.selectors import project_statuses


@require_GET
@login_required
def project_list(request: HtmxHttpRequest) -> HttpResponse:
    form = ProjectFilterForm(request.GET, statuses=project_statuses(user=request.user))
    values = form.values()
    projects = list(
        selectors.project_list(user=request.user, q=values["q"], status=values["status"])
    )
    context = {"form": form, "problems": form.problems, "projects": projects, "nav": "projects"}
    return render_htmx(request, "projects/project_list.html", context, fragment="results")
