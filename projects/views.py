"""Dashboard views for projects: the list (`/`) and one project's overview."""

from __future__ import annotations

from django.http import HttpResponse
from django.views.decorators.http import require_GET

from creatives.selectors import (
    project_leaderboards,
    project_recent_overrides,
    project_top_creatives,
)
from layersadmin.htmx import HtmxHttpRequest, login_required, render_htmx
from projects import selectors
from projects.forms import ProjectFilterForm
from projects.selectors import (
    project_for_user,
    project_kind_freshness,
    project_stats,
    project_statuses,
    project_timezone,
)


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


@require_GET
@login_required
def project_detail(request: HtmxHttpRequest, project_id: str) -> HttpResponse:
    project = project_for_user(request.user, project_id)
    with project_timezone(project):
        context = {
            "project": project,
            "tab": "overview",
            "stats": project_stats(project=project),
            "top_creatives": project_top_creatives(project=project),
            "leaderboards": project_leaderboards(project=project),
            "recent_overrides": project_recent_overrides(project=project),
            "freshness": project_kind_freshness(project=project),
        }
        return render_htmx(request, "projects/project_detail.html", context, fragment="overview")
