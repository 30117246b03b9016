"""Saved views (issue 15, part 6): a person saves a page's filters under a name, for themselves
or their team, and shares the link; addresses carry no empty parameters.

The people: Maria and Ola are in the team "Growth", Rita in "Retail". Maria and Rita manage
Bluebird Fitness; Ola and Rita see it too where a test says so.
"""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import urlencode

import pytest
from django.contrib.auth.models import Group
from django.db import IntegrityError, transaction

from layersadmin.addresses import query_normalise, query_without_empty
from layersadmin.models import SavedView
from layersadmin.saved_views import (
    NAME_REQUIRED,
    NAME_TAKEN,
    NAME_TOO_LONG,
    PAGE_REFUSED,
    PAGES,
    QUERY_TOO_LONG,
    TEAM_REFUSED,
    saved_view_create,
    saved_views_visible,
)
from tests.conftest import HX, html
from tests.factories import ProjectFactory, UserFactory

pytestmark = pytest.mark.django_db

CREATE = "/saved-views/"


@pytest.fixture
def teams(manager, project):
    growth = Group.objects.create(name="Growth")
    retail = Group.objects.create(name="Retail")
    ola = UserFactory(username="ola", first_name="Ola", last_name="Nordmann")
    rita = UserFactory(username="rita")
    manager.first_name, manager.last_name = "Maria", "Manager"
    manager.save()
    manager.groups.add(growth)
    ola.groups.add(growth)
    rita.groups.add(retail)
    project.account_managers.add(ola, rita)
    return {"growth": growth, "retail": retail, "ola": ola, "rita": rita}


def creatives_url(project) -> str:
    return f"/projects/{project.layers_id}/creatives/"


def save(client, project, *, name="High scorers", share="personal", query="", **extra):
    data = {
        "page": "creative_list",
        "project": project.layers_id,
        "query": query,
        "name": name,
        "share": share,
    }
    data.update(extra.pop("data", {}))
    return client.post(CREATE, data, **extra)


def chips(page: str) -> list[str]:
    """The names of the saved views listed in a page's control."""
    section = re.search(r'<section class="saved-views".*?</section>', page, re.S)
    assert section, "no saved-views control on the page"
    found = re.findall(r'<a class="chip[^"]*" href="[^"]*"[^>]*>\s*([^<]+?)\s*(?:<|$)', section[0])
    return [unescape(name) for name in found]


# --- the normal form of a query -----------------------------------------------------------------


def test_query_normalise_drops_empty_and_paging_and_sorts_names():
    query = "window=7d&pool=&cursor=abc&sort=roas_desc&status=b&status=a&page=2&=x&minSpend="
    assert query_normalise(query) == "sort=roas_desc&status=b&status=a&window=7d"
    assert query_normalise("?b=2&a=1") == query_normalise("a=1&b=2") == "a=1&b=2"
    assert query_normalise("") == ""
    # What the address bar keeps: only the empty parameters go, order and paging stay.
    assert query_without_empty("window=7d&pool=&cursor=abc") == "window=7d&cursor=abc"
    hostile = "q=%3Cscript%3E&x=%00&" + "&".join(f"k{i}=v" for i in range(2000))
    assert query_normalise(hostile) == ""  # more fields than any page has: none kept


# --- saving -------------------------------------------------------------------------------------


def test_save_a_personal_view_as_a_plain_post(client, manager, project, teams):
    response = save(client, project, query="pool=&minScore=5&cursor=x&eligible=yes")
    assert response.status_code == 302
    assert response["Location"] == f"{creatives_url(project)}?eligible=yes&minScore=5"
    view = SavedView.objects.get()
    assert (view.owner, view.page, view.project, view.name) == (
        manager,
        "creative_list",
        project,
        "High scorers",
    )
    assert (view.query, view.visibility, view.group) == (
        "eligible=yes&minScore=5",
        "personal",
        None,
    )
    assert view.get_absolute_url() == f"{creatives_url(project)}?eligible=yes&minScore=5"
    page = html(client.get(response["Location"]))
    assert "Saved “High scorers” for you only." in page
    assert chips(page) == ["High scorers"]
    assert 'aria-current="true"' in page  # the view in use is marked


def test_save_a_team_view_with_htmx_takes_the_address_bar(client, manager, project, teams):
    """The filters above the control change the address without a reload: htmx names it
    (HX-Current-URL), and that is what is saved, not the form's stale copy."""
    current = f"http://testserver{creatives_url(project)}?window=7d&minSpend=&sort=roas_desc"
    response = save(
        client,
        project,
        name="ROAS, last week",
        share=f"team-{teams['growth'].pk}",
        query="",  # stale: the page was loaded before the filters changed
        HTTP_HX_CURRENT_URL=current + "&cursor=abc",
        **HX,
    )
    assert response.status_code == 200
    assert "HX-Request" in response["Vary"]
    view = SavedView.objects.get()
    assert (view.visibility, view.group, view.query) == (
        "team",
        teams["growth"],
        "sort=roas_desc&window=7d",
    )
    fragment = html(response)
    assert 'id="saved-views"' in fragment and "<html" not in fragment  # the control only
    assert "Saved “ROAS, last week” for your team Growth." in fragment
    assert f'href="{creatives_url(project)}?sort=roas_desc&amp;window=7d"' in fragment


def test_an_address_of_another_page_is_not_taken_for_this_one(client, manager, project, teams):
    other = ProjectFactory()
    other.account_managers.add(manager)
    save(
        client,
        project,
        query="minScore=2",
        HTTP_HX_CURRENT_URL=f"http://testserver/projects/{other.layers_id}/creatives/?minScore=9",
        **HX,
    )
    assert SavedView.objects.get().query == "minScore=2"
    save(
        client,
        project,
        name="Evil",
        query="minScore=3",
        HTTP_HX_CURRENT_URL=f"http://evil.example{creatives_url(project)}?minScore=9",
        **HX,
    )
    assert SavedView.objects.get(name="Evil").query == "minScore=3"


def test_a_view_of_a_page_across_projects(client, manager, teams):
    response = client.post(
        CREATE,
        {
            "page": "agency_leaderboard",
            "project": "ignored",
            "name": "ROAS board",
            "share": "personal",
        },
        HTTP_HX_CURRENT_URL="http://testserver/leaderboard/?window=7d&metric=roas&limit=",
        **HX,
    )
    assert response.status_code == 200
    view = SavedView.objects.get()
    assert (view.project, view.query) == (None, "metric=roas&window=7d")
    assert view.get_absolute_url() == "/leaderboard/?metric=roas&window=7d"
    assert chips(html(client.get("/leaderboard/"))) == ["ROAS board"]


# --- who sees which -----------------------------------------------------------------------------


def test_own_views_and_my_teams_views_only(client, manager, project, teams):
    growth, retail = teams["growth"], teams["retail"]
    ola, rita = teams["ola"], teams["rita"]
    saved_view_create(owner=manager, page="creative_list", project=project, name="Mine", query="")
    saved_view_create(
        owner=manager,
        page="creative_list",
        project=project,
        name="Growth's",
        query="minScore=5",
        group=growth,
    )
    saved_view_create(
        owner=rita,
        page="creative_list",
        project=project,
        name="Retail's",
        query="eligible=no",
        group=retail,
    )
    saved_view_create(owner=rita, page="creative_list", project=project, name="Rita's", query="")
    # Another page, another project: not listed here.
    saved_view_create(
        owner=manager, page="project_gallery", project=project, name="Tiles", query=""
    )
    elsewhere = ProjectFactory()
    elsewhere.account_managers.add(manager)
    saved_view_create(owner=manager, page="creative_list", project=elsewhere, name="Far", query="")

    def listed(user) -> list[str]:
        return [
            v.name for v in saved_views_visible(user=user, page="creative_list", project=project)
        ]

    assert listed(manager) == ["Growth's", "Mine"]
    assert listed(ola) == ["Growth's"]  # the team's, never Maria's personal one
    assert listed(rita) == ["Retail's", "Rita's"]  # another team's views stay hidden

    assert chips(html(client.get(creatives_url(project)))) == ["Growth's", "Mine"]
    client.force_login(ola)
    page = html(client.get(creatives_url(project)))
    assert chips(page) == ["Growth's"]
    assert "by Maria Manager" in page  # a colleague's view says whose it is
    assert "saved_view_delete" not in page and "/delete/" not in page  # not Ola's to delete
    client.force_login(rita)
    assert chips(html(client.get(creatives_url(project)))) == ["Retail's", "Rita's"]


def test_the_link_is_the_page_with_its_filters_and_the_project_rule_holds(
    client, manager, project, teams
):
    view = saved_view_create(
        owner=manager,
        page="creative_list",
        project=project,
        name="Eligible",
        query="eligible=yes&minScore=5",
        group=teams["growth"],
    )
    client.force_login(teams["ola"])
    page = html(client.get(view.get_absolute_url()))
    assert '<option value="yes" selected>Eligible</option>' in page
    assert 'name="minScore" value="5"' in page
    # A member of the team who may not see the project: the page's usual 404.
    outsider = UserFactory(username="outsider")
    outsider.groups.add(teams["growth"])
    client.force_login(outsider)
    assert client.get(view.get_absolute_url()).status_code == 404
    assert save(client, project, name="Sneaky", **HX).status_code == 404
    assert SavedView.objects.count() == 1


# --- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"name": ""}, NAME_REQUIRED),
        ({"name": "   "}, NAME_REQUIRED),
        ({"name": "x" * 81}, NAME_TOO_LONG),
        ({"name": "a\x00b"}, "Null characters are not allowed."),
        ({"share": "team-RETAIL"}, TEAM_REFUSED),  # replaced by Retail's id below
        ({"share": "team-999999"}, TEAM_REFUSED),
        ({"share": ""}, TEAM_REFUSED),
        ({"query": "q=" + "x" * 2100}, QUERY_TOO_LONG),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(
    client, manager, project, teams, changes, message
):
    if changes.get("share") == "team-RETAIL":
        changes = {"share": f"team-{teams['retail'].pk}"}  # a team Maria is not in
    data = {"name": "Fine", "share": "personal", "query": "minScore=5", **changes}
    response = save(client, project, **{k: v for k, v in data.items()}, **HX)
    assert response.status_code == 422
    assert message in html(response)
    assert not SavedView.objects.exists()
    # The form comes back open, with what was typed.
    assert '<details class="saved-view-new" open>' in html(response)
    # A plain POST: the message on the page it came from, nothing saved.
    response = save(client, project, **{k: v for k, v in data.items()})
    assert response.status_code == 302
    assert message in html(client.get(response["Location"]))
    assert not SavedView.objects.exists()


@pytest.mark.parametrize("page", ["", "creative_detail", "admin:index", "project_list", "x" * 500])
def test_a_page_that_cannot_have_saved_views(client, manager, project, page):
    response = client.post(CREATE, {"page": page, "name": "X", "share": "personal"}, **HX)
    assert response.status_code == 422 and PAGE_REFUSED in html(response)
    response = client.post(CREATE, {"page": page, "name": "X", "share": "personal"})
    assert response.status_code == 302
    assert PAGE_REFUSED in html(client.get(response["Location"]))
    assert not SavedView.objects.exists()


def test_a_name_is_taken_once_per_person_and_page(client, manager, project, teams):
    assert save(client, project, name="Winners", **HX).status_code == 200
    response = save(client, project, name="Winners", query="minScore=9", **HX)
    assert response.status_code == 422 and NAME_TAKEN in html(response)
    # The same name on another project's page, or by a colleague, is someone else's view.
    other = ProjectFactory()
    other.account_managers.add(manager)
    assert save(client, other, name="Winners", **HX).status_code == 200
    client.force_login(teams["rita"])
    assert save(client, project, name="Winners", **HX).status_code == 200
    assert SavedView.objects.filter(name="Winners").count() == 3


def test_the_database_keeps_the_rules_too(manager, project, teams):
    with pytest.raises(IntegrityError), transaction.atomic():
        SavedView.objects.create(
            owner=manager, page="creative_list", project=project, name="T", visibility="team"
        )
    SavedView.objects.create(owner=manager, page="agency_leaderboard", name="A")
    with pytest.raises(IntegrityError), transaction.atomic():
        SavedView.objects.create(owner=manager, page="agency_leaderboard", name="A")
    SavedView.objects.create(owner=manager, page="creative_list", project=project, name="P")
    with pytest.raises(IntegrityError), transaction.atomic():
        SavedView.objects.create(owner=manager, page="creative_list", project=project, name="P")


def test_hostile_names_are_escaped(client, manager, project):
    save(client, project, name='<script>alert("x")</script>', **HX)
    page = html(client.get(creatives_url(project)))
    assert '<script>alert("x")</script>' not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page


# --- deleting -----------------------------------------------------------------------------------


def test_only_the_owner_deletes_a_view(client, manager, project, teams):
    view = saved_view_create(
        owner=manager,
        page="creative_list",
        project=project,
        name="Shared",
        query="minScore=5",
        group=teams["growth"],
    )
    client.force_login(teams["ola"])  # sees it, may not delete it
    assert client.post(f"/saved-views/{view.pk}/delete/", **HX).status_code == 404
    assert client.post(f"/saved-views/{view.pk}/delete/").status_code == 404
    assert client.get(f"/saved-views/{view.pk}/delete/").status_code == 405
    assert SavedView.objects.filter(pk=view.pk).exists()

    client.force_login(manager)
    response = client.post(
        f"/saved-views/{view.pk}/delete/",
        {"query": "minScore=5"},
        HTTP_HX_CURRENT_URL=f"http://testserver{creatives_url(project)}?minScore=5&pool=",
        **HX,
    )
    assert response.status_code == 200
    assert "Deleted the saved view “Shared”." in html(response)
    assert chips(html(response)) == []
    assert not SavedView.objects.exists()
    # A plain POST goes back to the page, its filters kept.
    again = saved_view_create(
        owner=manager, page="creative_list", project=project, name="Again", query=""
    )
    response = client.post(f"/saved-views/{again.pk}/delete/", {"query": "eligible=no&pool="})
    assert response.status_code == 302
    assert response["Location"] == f"{creatives_url(project)}?eligible=no"


def test_signed_out_people_are_sent_to_sign_in(client, project):
    client.logout()
    response = client.post(CREATE, {"page": "creative_list", "name": "x"})
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


# --- the control on every listed page, and addresses without empty parameters --------------------


def test_every_listed_page_has_the_control(client, manager, project):
    pages = {
        "creative_list": creatives_url(project),
        "project_gallery": f"/projects/{project.layers_id}/gallery/",
        "project_leaderboard": f"/projects/{project.layers_id}/leaderboard/",
        "project_review_queue": f"/projects/{project.layers_id}/review/",
        "agency_creatives": "/creatives/",
        "agency_leaderboard": "/leaderboard/",
        "agency_review_queue": "/review/",
    }
    assert set(pages) <= set(PAGES)
    for name, url in pages.items():
        page = html(client.get(url))
        assert page.count('id="saved-views"') == 1, name
        assert f'<input type="hidden" name="page" value="{name}">' in page, name
    # Pages without filters to keep have none.
    assert 'id="saved-views"' not in html(client.get(f"/projects/{project.layers_id}/"))


@pytest.mark.parametrize(
    "path, query, clean",
    [
        ("gallery/", {"creativeType": "", "since": "", "status": "completed"}, "status=completed"),
        ("leaderboard/", {"metric": "roas", "limit": "", "baseline": "24h"}, None),
        ("/leaderboard/", {"metric": "views", "window": "", "limit": ""}, "metric=views"),
        ("creatives/", {"pool": "", "minScore": "5"}, "minScore=5"),
        ("/creatives/", {"pool": "", "minScore": "5"}, "minScore=5"),
    ],
)
def test_addresses_carry_no_empty_parameters(client, manager, project, path, query, clean):
    base = path if path.startswith("/") else f"/projects/{project.layers_id}/{path}"
    if clean is None:
        clean = urlencode({k: v for k, v in query.items() if v})
    response = client.get(base, query)
    assert response.status_code == 302 and response["Location"] == f"{base}?{clean}"
    assert client.get(response["Location"]).status_code == 200
    # htmx: the fragment, and the clean address to push instead of the one sent.
    fragment = client.get(base, query, **HX)
    assert fragment.status_code == 200 and fragment["HX-Push-Url"] == f"{base}?{clean}"
    # Nothing empty: nothing to redirect, nothing pushed by this rule.
    assert client.get(base, {k: v for k, v in query.items() if v}).status_code == 200
    if "creatives/" not in path:  # those pages push their own normal form every time
        plain = client.get(base, {k: v for k, v in query.items() if v}, **HX)
        assert "HX-Push-Url" not in plain


def test_load_more_is_never_pushed(client, manager, project):
    url = f"/projects/{project.layers_id}/gallery/"
    response = client.get(url, {"cursor": "abc", "since": ""}, **HX)
    assert response.status_code == 200 and "HX-Push-Url" not in response


# --- admin --------------------------------------------------------------------------------------


def test_admin_lists_searches_and_opens_saved_views(admin_client, manager, project, teams):
    view = saved_view_create(
        owner=manager,
        page="creative_list",
        project=project,
        name="Findable",
        query="minScore=5",
        group=teams["growth"],
    )
    changelist = admin_client.get("/admin/layersadmin/savedview/")
    assert changelist.status_code == 200 and "Findable" in html(changelist)
    assert "Findable" in html(admin_client.get("/admin/layersadmin/savedview/?q=maria"))
    assert "Findable" not in html(admin_client.get("/admin/layersadmin/savedview/?q=nobody"))
    assert "Findable" in html(admin_client.get("/admin/layersadmin/savedview/?page=creative_list"))
    detail = admin_client.get(f"/admin/layersadmin/savedview/{view.pk}/change/")
    assert detail.status_code == 200
    assert f'href="{creatives_url(project)}?minScore=5"' in html(detail)
    # Admin keeps the rules: a team the owner is not in is refused.
    response = admin_client.post(
        f"/admin/layersadmin/savedview/{view.pk}/change/",
        {
            "owner": manager.pk,
            "name": "Findable",
            "page": "creative_list",
            "project": project.pk,
            "query": "minScore=5",
            "visibility": "team",
            "group": teams["retail"].pk,
        },
    )
    assert response.status_code == 200 and "The owner is not in this team." in html(response)
    view.refresh_from_db()
    assert view.group == teams["growth"]
