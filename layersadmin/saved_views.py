"""Saved views: a person names the filters of a dashboard page and keeps them, for themselves
or for their team (a Django auth Group they belong to), and shares the link.

A saved view is the page's address: its URL name (``page``), its project for a project's page,
and its query string normalised (``layersadmin.addresses.query_normalise``). Opening one is
following that link, so it checks nothing of its own: a colleague who may not see the project
gets the page's usual 404, and filters the page no longer takes are reported by the page.

Who sees which: a person's own views, and the team views of every group they are in, of the
page they are on (``saved_views_visible``). Only the owner deletes one.

Here: the pages that have saved views (``PAGES``), the form, the two writes and the read, and
what the control on each page needs (``SavedViewsControl``, built by ``control_for_page``,
rendered by ``templates/layersadmin/saved_views.html`` through ``{% saved_views_control %}``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from django import forms
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.urls import Resolver404, resolve, reverse
from django.utils.http import url_has_allowed_host_and_scheme

from layersadmin.addresses import address, query_normalise
from layersadmin.models import SavedView


class Project(Protocol):
    """A ``projects.Project`` as this module uses one (the base imports no app above it:
    tests/test_import_layers.py; who may see a project is decided by the views that call
    this, ``projects.saved_view_views``)."""

    pk: Any
    layers_id: str


NAME_MAX_LENGTH = SavedView._meta.get_field("name").max_length
QUERY_MAX_LENGTH = SavedView._meta.get_field("query").max_length
PERSONAL = SavedView.Visibility.PERSONAL
TEAM = SavedView.Visibility.TEAM


@dataclass(frozen=True)
class Page:
    """A dashboard page whose filters can be saved: its URL name, and whether its address
    names a project (``<project_id>``)."""

    name: str
    label: str
    per_project: bool


# Every table, board and gallery with filters (and the review queues, so a queue can be kept
# as a link too). A page not named here cannot have saved views.
PAGES: dict[str, Page] = {
    page.name: page
    for page in (
        Page("creative_list", "Scored creatives", per_project=True),
        Page("project_gallery", "Gallery", per_project=True),
        Page("project_leaderboard", "Leaderboard", per_project=True),
        Page("project_review_queue", "Needs review", per_project=True),
        Page("agency_creatives", "Scored creatives, every project", per_project=False),
        Page("agency_leaderboard", "Agency leaderboard", per_project=False),
        Page("agency_review_queue", "Needs review, every project", per_project=False),
    )
}

PAGE_REFUSED = "Views of this page cannot be saved."
NAME_REQUIRED = "Give the view a name."
NAME_TOO_LONG = f"Keep the name to {NAME_MAX_LENGTH} characters."
NAME_TAKEN = "You already have a view with this name on this page: choose another name."
TEAM_REFUSED = "Choose one of your own teams, or Only me."
QUERY_TOO_LONG = "These filters are too long to save as a view."
PROJECT_MISSING = "This page's project is missing."


def page_url(*, page: str, project: Project | None, query: str) -> str:
    """The page's address with ``query``: the link a saved view is."""
    kwargs = {"project_id": project.layers_id} if project is not None else {}
    return address(reverse(page, kwargs=kwargs), query)


def user_teams(user) -> QuerySet[Group]:
    """The groups ``user`` is in: the teams a view can be shared with."""
    if not getattr(user, "is_authenticated", False):
        return Group.objects.none()
    return user.groups.order_by("name", "id")


def saved_view_problems(view: SavedView) -> None:
    """The rules a saved view keeps, however it is made (the form, the service, admin):
    a known page, the project its page needs (and only then), a normalised query, and a
    team view shared with one of its owner's groups. Raises ValidationError."""
    errors: dict[str, list[str]] = {}
    page = PAGES.get(view.page)
    if page is None:
        errors.setdefault("page", []).append(PAGE_REFUSED)
    elif page.per_project and view.project_id is None:
        errors.setdefault("project", []).append(PROJECT_MISSING)
    elif not page.per_project and view.project_id is not None:
        errors.setdefault("project", []).append("This page is not a project's page.")
    if view.query != query_normalise(view.query):
        errors.setdefault("query", []).append(
            "Not normalised: no empty parameter, no cursor or page, names sorted."
        )
    if view.visibility == TEAM:
        if view.group_id is None:
            errors.setdefault("group", []).append("A team view needs its team.")
        elif view.owner_id and not view.owner.groups.filter(pk=view.group_id).exists():
            errors.setdefault("group", []).append("The owner is not in this team.")
    elif view.group_id is not None:
        errors.setdefault("group", []).append("Only a team view has a team.")
    if errors:
        raise ValidationError(errors)


# --- reads --------------------------------------------------------------------------------------


def saved_views_visible(*, user, page: str, project: Project | None) -> QuerySet[SavedView]:
    """The views of one page ``user`` may see: their own, and their teams' views."""
    if not getattr(user, "is_authenticated", False):
        return SavedView.objects.none()
    views = SavedView.objects.filter(page=page)
    if project is None:
        views = views.filter(project=None)
    elif project.pk is None:  # a project read from the API, not stored (bench/passthrough.py)
        views = views.filter(project__layers_id=project.layers_id)
    else:
        views = views.filter(project=project)
    mine_or_my_teams = Q(owner=user) | Q(visibility=TEAM, group__in=user.groups.all())
    return views.filter(mine_or_my_teams).select_related("owner", "group")


# --- writes -------------------------------------------------------------------------------------


def saved_view_create(
    *,
    owner,
    page: str,
    project: Project | None,
    name: str,
    query: str,
    group: Group | None = None,
) -> SavedView:
    """Save a view (personal, or for ``group``: a team of ``owner``). ValidationError with
    the reason when it breaks a rule; nothing is saved then."""
    view = SavedView(
        owner=owner,
        page=page,
        project=project,
        name=name.strip(),
        query=query_normalise(query),
        visibility=TEAM if group is not None else PERSONAL,
        group=group,
    )
    if len(view.query) > QUERY_MAX_LENGTH:
        raise ValidationError({"query": [QUERY_TOO_LONG]})
    if _name_taken(view):
        raise ValidationError({"name": [NAME_TAKEN]})
    view.full_clean(validate_constraints=False)  # the unique name is checked above
    try:
        with transaction.atomic():
            view.save()
    except IntegrityError:  # the same name saved at the same moment, from another tab
        raise ValidationError({"name": [NAME_TAKEN]}) from None
    return view


def _name_taken(view: SavedView) -> bool:
    same = SavedView.objects.filter(owner=view.owner, page=view.page, name=view.name)
    if view.project is not None:
        return same.filter(project=view.project).exists()
    return same.filter(project=None).exists()


def saved_view_delete(*, owner, view_id: int) -> SavedView:
    """Delete one of ``owner``'s views (SavedView.DoesNotExist for anyone else's)."""
    view = SavedView.objects.select_related("project").get(pk=view_id, owner=owner)
    view.delete()
    return view


# --- the form -----------------------------------------------------------------------------------


class SavedViewForm(forms.Form):
    """ "Save this view": a name, and who sees it (``personal``, or ``team-<group id>``).

    The page, project and query come from the page the form is on: the view decides them
    (``page_of_request``), never taken on trust.
    """

    name = forms.CharField(
        max_length=NAME_MAX_LENGTH,
        error_messages={"required": NAME_REQUIRED, "max_length": NAME_TOO_LONG},
        widget=forms.TextInput(attrs={"autocomplete": "off", "maxlength": NAME_MAX_LENGTH}),
    )
    share = forms.ChoiceField(
        label="Who sees it",
        initial=PERSONAL,
        error_messages={"invalid_choice": TEAM_REFUSED, "required": TEAM_REFUSED},
    )

    def __init__(self, *args: Any, user, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "saved-view-%s")
        super().__init__(*args, **kwargs)
        self.teams = list(user_teams(user))
        self.fields["share"].choices = [(PERSONAL, "Only me")] + [
            (f"team-{team.pk}", f"Team: {team.name}") for team in self.teams
        ]

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError(NAME_REQUIRED)
        return name

    def group(self) -> Group | None:
        """The team chosen, or None for Only me."""
        share = self.cleaned_data["share"]
        return next((t for t in self.teams if share == f"team-{t.pk}"), None)


# --- where a form was sent from -----------------------------------------------------------------


@dataclass(frozen=True)
class PageAddress:
    page: Page
    project_id: str  # as the address gives it; "" for a page across projects
    query: str  # normalised


def page_of_url(url: str, request: HttpRequest) -> PageAddress | None:
    """The saved-views page an address of this site shows (path and query), or None: what
    htmx names the page a form was sent from (``HX-Current-URL``, the address bar)."""
    if not url or len(url) > 20_000:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if (parts.scheme or parts.netloc) and not url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return None
    try:
        match = resolve(unquote(parts.path))
    except (Resolver404, ValueError):
        return None
    query = parts.query
    page = PAGES.get(match.url_name or "")
    if page is None:
        return None
    return PageAddress(page, match.kwargs.get("project_id", ""), query_normalise(query))


# --- the control on each page -------------------------------------------------------------------


@dataclass
class SavedViewsControl:
    """What ``templates/layersadmin/saved_views.html`` shows on one page."""

    page: Page
    project: Project | None
    query: str
    views: list[SavedView]
    form: SavedViewForm
    user_id: int
    notice: str = ""
    errors: list[str] = field(default_factory=list)
    open: bool = False  # the "Save this view" form shown open (after a refusal)

    @property
    def query_too_long(self) -> bool:
        return len(self.query) > QUERY_MAX_LENGTH

    @property
    def url(self) -> str:
        return page_url(page=self.page.name, project=self.project, query=self.query)


def control_for_page(
    *,
    user,
    page: Page,
    project: Project | None,
    query: str,
    form: SavedViewForm | None = None,
    **extra: Any,
) -> SavedViewsControl:
    views = list(saved_views_visible(user=user, page=page.name, project=project))
    for view in views:
        view.url = page_url(page=page.name, project=project, query=view.query)
    return SavedViewsControl(
        page=page,
        project=project,
        query=query,
        views=views,
        form=form or SavedViewForm(user=user),
        user_id=user.pk,
        **extra,
    )
