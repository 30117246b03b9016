"""The alert pages: a person's notifications (with mark-read) and their alert settings.

Thin: parse with a form, call one selector or service, render. Every POST works as a plain
form (answered with a redirect) and through htmx (answered with the fragment it swaps).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import formats
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from alerts import vocabulary as v
from alerts.forms import AlertPreferenceForm, MarkReadForm, ProjectMuteForm, known_timezones
from alerts.selectors import (
    alert_view,
    managed_project,
    mute_rows,
    notification_page,
)
from alerts.services import (
    alert_preference_get,
    alert_preference_save,
    notifications_mark_read,
    project_mute_set,
)
from layersadmin.htmx import HtmxHttpRequest, local_next, login_required, render_htmx

TEMPLATE = "alerts/notifications.html"


def _list_context(request: HtmxHttpRequest, page_number) -> dict:
    page = notification_page(user=request.user, page=page_number)
    preference = alert_preference_get(user=request.user)
    rows = [(n, alert_view(n.alert, preference)) for n in page.object_list]
    return {
        "page": page,
        "rows": rows,
        "words": {"title": v.NOTIFICATIONS_TITLE, "empty": v.NO_NOTIFICATIONS},
    }


@require_GET
@login_required
def notification_list_view(request: HtmxHttpRequest) -> HttpResponse:
    """The person's notifications, newest first, 25 a page."""
    context = _list_context(request, request.GET.get("page"))
    return render_htmx(request, TEMPLATE, context, fragment="list")


@require_POST
@login_required
def notifications_read(request: HtmxHttpRequest) -> HttpResponse:
    """Mark one notification (``notification``) or all (``all``) read. htmx gets the list
    fragment back with the bell's new count (out of band); a plain form a redirect."""
    form = MarkReadForm(request.POST)
    back = local_next(request, request.POST.get("next", ""), reverse("notifications"))
    if not form.is_valid():
        problem = "; ".join(str(e) for errors in form.errors.values() for e in errors)
        if request.htmx:
            return HttpResponse(problem, status=422, content_type="text/plain; charset=utf-8")
        messages.error(request, problem)
        return redirect(back)
    one = None if form.cleaned_data["all"] else form.cleaned_data["notification"]
    changed = notifications_mark_read(user=request.user, notification_id=one)
    if one is not None and not changed and not _is_mine_and_read(request, one):
        if request.htmx:
            return HttpResponse(
                v.NO_SUCH_NOTIFICATION, status=404, content_type="text/plain; charset=utf-8"
            )
        raise Http404(v.NO_SUCH_NOTIFICATION)
    text = (
        v.MARKED_READ
        if one is not None
        else v.ALL_MARKED_READ.format(count=changed, plural="" if changed == 1 else "s")
    )
    if request.htmx:
        context = {**_list_context(request, request.POST.get("page")), "status_text": text}
        context["bell_oob"] = True
        return render_htmx(request, TEMPLATE, context, fragment="list")
    messages.success(request, text)
    return redirect(back)


def _is_mine_and_read(request: HtmxHttpRequest, notification_id: int) -> bool:
    return request.user.notifications.filter(pk=notification_id).exists()


def _settings_page(
    request: HtmxHttpRequest,
    form: AlertPreferenceForm,
    *,
    status: int = 200,
    mute_problem: str = "",
) -> HttpResponse:
    rows = mute_rows(user=request.user)
    zones = sorted({row.project.timezone for row in rows if row.project.timezone} | {"UTC"})
    context = {
        "form": form,
        "mute_rows": rows,
        "mute_choices": list(v.MUTE_LABELS.items()),
        "unmute": v.UNMUTE,
        "zones": [z for z in zones if z in known_timezones()],
        "mute_problem": mute_problem,
        "rule_help": _rule_help(),
    }
    return render_htmx(request, "alerts/settings.html", context, fragment=None, status=status)


def _rule_help() -> dict[str, str]:
    values = {
        "top_n": settings.LAYERS_ALERT_TOP_N,
        "drop": settings.LAYERS_ALERT_SCORE_DROP,
        "drop_days": settings.LAYERS_ALERT_SCORE_DROP_DAYS,
        "failures": settings.LAYERS_ALERT_SYNC_FAILURES,
        "grace": settings.LAYERS_ALERT_STALE_GRACE_MINUTES,
    }
    return {rule: text.format(**values) for rule, text in v.RULE_HELP.items()}


@require_http_methods(["GET", "POST"])
@login_required
def alert_settings(request: HtmxHttpRequest) -> HttpResponse:
    """Which rules the person follows, their digest and timezone. Bad input re-renders the
    form with its messages (422) and saves nothing."""
    preference = alert_preference_get(user=request.user)
    if request.method == "POST":
        form = AlertPreferenceForm(request.POST)
        if not form.is_valid():
            return _settings_page(request, form, status=422)
        alert_preference_save(
            user=request.user,
            followed_rules=form.cleaned_data["rules"],
            digest=form.cleaned_data["digest"],
            timezone_name=form.cleaned_data["timezone"],
        )
        messages.success(request, v.SETTINGS_SAVED)
        return redirect("alert_settings")
    form = AlertPreferenceForm(
        initial={
            "rules": preference.followed_rules,
            "digest": preference.digest,
            "timezone": preference.timezone,
        }
    )
    return _settings_page(request, form)


@require_POST
@login_required
def alert_mute(request: HtmxHttpRequest) -> HttpResponse:
    """Mute one of the person's projects for 1, 7 or 30 days, or unmute it. Another
    person's project is 404 (its existence does not leak); bad input 422, nothing saved."""
    form = ProjectMuteForm(request.POST)
    preference = alert_preference_get(user=request.user)
    initial = {
        "rules": preference.followed_rules,
        "digest": preference.digest,
        "timezone": preference.timezone,
    }
    if not form.is_valid():
        problem = " ".join(str(e) for errors in form.errors.values() for e in errors)
        return _settings_page(
            request,
            AlertPreferenceForm(initial=initial),
            status=422,
            mute_problem=v.NOTHING_SAVED.format(problem=problem),
        )
    project = managed_project(user=request.user, project_id=form.cleaned_data["project"])
    if project is None:
        raise Http404("No such project.")
    mute = project_mute_set(user=request.user, project=project, days=form.cleaned_data["days"])
    name = project.name or project.layers_id
    if mute is None:
        messages.success(request, v.UNMUTED.format(project=name))
    else:
        until = formats.date_format(mute.until, "j M Y, H:i T")
        messages.success(request, v.MUTED.format(project=name, until=until))
    return redirect("alert_settings")
