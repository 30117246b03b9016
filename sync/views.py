"""The status page of a background task (``/tasks/<task_id>/``): full page or htmx fragment."""

from __future__ import annotations

from django.http import Http404, HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_GET

from layersadmin.htmx import HtmxHttpRequest, login_required, render_htmx
from sync.models import TaskRecord
from sync.tasks import task_state


def task_for_user(user, task_id: str) -> TaskRecord:
    """The task record, if ``user`` started it or sees every project; 404 otherwise (also for
    an id no backend would make: the same answer as for someone else's task)."""
    if not task_id or len(task_id) > 64 or "\x00" in task_id:
        raise Http404("No such task.")
    record = TaskRecord.objects.filter(task_id=task_id).select_related("user").first()
    if record is None:
        raise Http404("No such task.")
    if record.user_id != user.pk and not user.has_perm("projects.view_all_projects"):
        raise Http404("No such task.")
    return record


@require_GET
@login_required
def task_status(request: HtmxHttpRequest, task_id: str) -> HttpResponse:
    record = task_for_user(request.user, task_id)
    state = task_state(record)
    result = state.result if isinstance(state.result, dict) else {}
    run_url = ""
    if result.get("run_id") and request.user.has_perm("sync.view_syncrun"):
        run_url = reverse("admin:sync_syncrun_change", args=[result["run_id"]])
    context = {
        "record": record,
        "state": state,
        "summary": result,
        "counts": result.get("counts") or {},
        "run_url": run_url,
    }
    return render_htmx(request, "projects/task_status.html", context, fragment="status")
