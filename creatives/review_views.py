"""Content review pages: the "Needs review" queue (per project and across the user's
projects) and the approve / reject actions on a pending container (creatives/review.py).

Who may review: whoever may see the project (``project_for_user``): account managers on
their own projects, support and superusers everywhere. The API key's ``content:approve``
scope decides the rest, and its absence is explained (``review_problem``).

A page has one approve / reject dialog (partials/review_dialog.html, static/js/review.js);
each pending item carries only two buttons (partials/review_actions.html). Without JavaScript
those buttons GET the approve / reject URL, which answers with a page asking for the note or
reason (``review_confirm.html``); its form POSTs to the same URL.

htmx gets the item's actions back (the result, or the buttons again with the reason it did not
go through: a refused input reopens the dialog with what was typed); a plain POST gets a message
and a redirect back to where the form was, or the asking page again when its input was refused.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_http_methods

from creatives.models import ContentContainer
from creatives.review import (
    REVIEW_TEXT_MAX_LENGTH,
    Action,
    ReviewInProgress,
    ReviewResult,
    content_review,
    review_problem,
    review_text_validate,
)
from creatives.review_selectors import review_container_get, review_queue
from layersadmin.htmx import (
    HtmxHttpRequest,
    local_next,
    login_required,
    render_htmx,
    wants_fragment,
)
from layersadmin.layers import (
    CustomerMismatch,
    LayersAPIError,
    LayersBusy,
    LayersError,
    LayersOutcomeUnknown,
    LayersUnavailable,
)
from projects.models import Project
from projects.selectors import project_for_user, project_timezone, projects_visible_to

TOKEN = RegexValidator(r"^[A-Za-z0-9_-]*$", "Reload the page and try again.")


class ReviewForm(forms.Form):
    """One approve (confirmed, optional note) or reject (reason required) of a container.

    Approving cannot be undone and may publish scheduled posts waiting for it, so it is sent
    only with ``confirm=yes``: the button inside the confirmation panel. The text is checked
    by ``review_text_validate`` (1,024 characters, counted as creatives/notes.py counts).
    """

    text = forms.CharField(required=False, strip=False, max_length=20_000)
    confirm = forms.CharField(required=False, max_length=8)
    # One random token per rendered form: the same form sent twice makes the same
    # Idempotency-Key, so a double submit is applied once (content_review).
    form_token = forms.CharField(required=False, max_length=64, validators=[TOKEN])
    next = forms.CharField(required=False, max_length=2000)

    def __init__(self, *args, action: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.action = action

    def clean(self):
        data = super().clean()
        if self.action == Action.APPROVE and data.get("confirm") != "yes":
            raise ValidationError("Confirm the approval first: it cannot be undone.")
        if "text" in data:
            try:
                data["text"] = review_text_validate(action=self.action, text=data["text"])
            except ValidationError as exc:
                self.add_error("text", list(exc.message_dict.values())[0])
        return data


def _container_or_404(project: Project, container_id: str) -> ContentContainer:
    if not container_id or len(container_id) > 64 or "\x00" in container_id:
        raise Http404("No such content.")
    try:
        return review_container_get(project=project, container_id=container_id)
    except ContentContainer.DoesNotExist:
        raise Http404("No such content.") from None


def _done_text(result: ReviewResult) -> str:
    """What the person sees after Layers answered yes."""
    audit = result.audit
    if result.replayed:
        state = audit.after_status or "sent"
        return f"Already {state}: this form was sent before; Layers applied it once."
    request = audit.request_id or "id not given"
    if audit.action == Action.REJECT:
        return f"Rejected. Layers confirmed it (request {request})."
    text = "Approved. "
    promotion = result.promotion
    posts = promotion.get("scheduledPostIds") if promotion else None
    count = len(posts) if isinstance(posts, list) else 0
    if promotion and promotion.get("status") == "failed":
        text += (
            f"{count or 'The'} scheduled post{'s' if count != 1 else ''} waiting for this "
            "approval could not be promoted: check them in Layers. "
        )
    elif count:
        text += (
            f"{count} scheduled post{'s' if count != 1 else ''} waiting for it will now publish. "
        )
    return text + f"Layers confirmed it (request {request})."


def _apply(form: ReviewForm, container: ContentContainer, user) -> tuple[int, str, str]:
    """(HTTP status, confirmation, error) for the page; the service writes the audit."""
    if not form.is_valid():
        return 422, "", " ".join(e for errors in form.errors.values() for e in errors)
    try:
        result = content_review(
            container=container,
            user=user,
            action=form.action,
            text=form.cleaned_data["text"],
            form_token=form.cleaned_data["form_token"],
            source="dashboard",
        )
    except ValidationError as exc:
        return 422, "", " ".join(m for ms in exc.message_dict.values() for m in ms)
    except (ReviewInProgress, CustomerMismatch) as exc:
        return 409, "", review_problem(exc)
    except LayersBusy as exc:  # the rate budget would keep this person waiting too long
        return 429, "", exc.message
    except (LayersOutcomeUnknown, LayersUnavailable) as exc:
        return 504, "", review_problem(exc)
    except LayersAPIError as exc:
        return (409 if exc.code == "CONFLICT" else 502), "", review_problem(exc)
    except LayersError as exc:
        return 502, "", review_problem(exc)
    return 200, _done_text(result), ""


def _ask(
    request: HtmxHttpRequest,
    *,
    project: Project,
    container: ContentContainer,
    action: str,
    return_to: str,
    text: str = "",
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    """The page asking for the note (approve, with its confirmation) or the reason (reject):
    the item buttons' answer without JavaScript, and a plain POST refused for its input."""
    with project_timezone(project):
        context = {
            "project": project,
            "tab": "review",
            "c": container,
            "action": action,
            "return_to": return_to,
            "text_value": text,
            "error": error,
            "text_max": REVIEW_TEXT_MAX_LENGTH,
        }
        return render(request, "creatives/review_confirm.html", context, status=status)


def _review(request: HtmxHttpRequest, project_id: str, container_id: str, action: str):
    project = project_for_user(request.user, project_id)
    container = _container_or_404(project, container_id)
    default_next = reverse("project_review_queue", kwargs={"project_id": project.layers_id})
    if request.method == "GET":
        return_to = local_next(request, request.GET.get("next", "")[:2000], default_next)
        return _ask(
            request, project=project, container=container, action=action, return_to=return_to
        )
    form = ReviewForm(request.POST, action=action)
    status, done, error = _apply(form, container, request.user)

    return_to = local_next(request, request.POST.get("next", "")[:2000], default_next)
    label = (container.caption.splitlines() or [""])[0][:60] or container.layers_id
    if not wants_fragment(request) and status == 422:
        return _ask(
            request,
            project=project,
            container=container,
            action=action,
            return_to=return_to,
            text=request.POST.get("text", "")[:5000],
            error=error,
            status=422,
        )
    if not wants_fragment(request):
        if error:
            messages.error(request, f"{label}: {error}")
        else:
            messages.success(request, f"{label}: {done}")
        return HttpResponseRedirect(return_to)

    container.refresh_from_db()
    with project_timezone(project):
        context = {
            "project": project,
            "c": container,
            "return_to": return_to,
            "done": done,
            "error": error,
            "failed_action": action if error else "",
            # Refused for its input: the dialog opens again for it (static/js/review.js).
            "ask": status == 422 and container.approval_status == "pending",
            # Keep what was typed when the decision did not go through.
            "text_value": request.POST.get("text", "")[:5000] if error else "",
        }
        response = render(request, "creatives/partials/review_actions.html", context, status=status)
    patch_vary_headers(response, ("HX-Request",))
    return response


@require_http_methods(["GET", "POST"])
@login_required
def content_approve_view(
    request: HtmxHttpRequest, project_id: str, container_id: str
) -> HttpResponse:
    """Approve a pending container (asked to confirm first; cannot be undone). GET: the page
    asking for the note and the confirmation."""
    return _review(request, project_id, container_id, Action.APPROVE)


@require_http_methods(["GET", "POST"])
@login_required
def content_reject_view(
    request: HtmxHttpRequest, project_id: str, container_id: str
) -> HttpResponse:
    """Reject a pending container with a reason. GET: the page asking for the reason."""
    return _review(request, project_id, container_id, Action.REJECT)


@require_GET
@login_required
def project_review_queue(request: HtmxHttpRequest, project_id: str) -> HttpResponse:
    """A project's pending containers, newest first, each with approve and reject."""
    project = project_for_user(request.user, project_id)
    with project_timezone(project):
        context = {
            "project": project,
            "tab": "review",
            "queue": review_queue(projects=[project]),
            "return_to": request.path,
            "text_max": REVIEW_TEXT_MAX_LENGTH,
        }
        return render_htmx(request, "creatives/review_queue.html", context, fragment="queue")


@require_GET
@login_required
def agency_review_queue(request: HtmxHttpRequest) -> HttpResponse:
    """Pending containers across every project the user may see, newest first."""
    context = {
        "nav": "review",
        "queue": review_queue(projects=projects_visible_to(request.user)),
        "return_to": request.path,
        "text_max": REVIEW_TEXT_MAX_LENGTH,
        "agency": True,
    }
    return render_htmx(request, "creatives/review_queue.html", context, fragment="queue")
