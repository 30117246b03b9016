"""Reading ids tolerantly from a payload whose shape Layers does not document, and what each
event asks us to re-fetch."""

from __future__ import annotations

import pytest

from tests.factories import ProjectFactory
from webhooks.payload import EventRead, payload_read
from webhooks.services import Decision, refetch_decide

P = "prj_11111111-2222-4333-8444-555555555555"
C = "cnt_aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
BARE_P, BARE_C = P[4:], C[4:]


@pytest.mark.parametrize(
    "payload, container, project",
    [
        # the sandbox's seed shape: data is the container
        ({"type": "content.generated", "data": {"id": C, "projectId": P}}, C, P),
        # the sandbox's variant shape: bare ids, the project nested
        (
            {"event": "content.approved", "data": {"contentId": BARE_C, "project": {"id": BARE_P}}},
            BARE_C,
            BARE_P,
        ),
        ({"type": "content.rejected", "data": {"containerId": C, "project_id": P}}, C, P),
        ({"type": "content.generated", "data": {"content": {"id": C, "projectId": P}}}, C, P),
        ({"type": "content.generated", "data": {"object": {"id": C, "projectId": P}}}, C, P),
        ({"type": "content.generated", "data": {"container": {"id": C}}}, C, ""),
        ({"eventType": "content.generated", "containerId": C, "projectId": P}, C, P),
        ({"event_type": "content.generated", "data": {"content_id": C.upper()}}, C.upper(), ""),
        # a job: data.id is the job, never taken for a container
        ({"type": "job.completed", "data": {"id": "job_01HX", "projectId": P}}, "", P),
        ({"type": "job.completed", "data": {"id": "job_01HX", "containerId": C}}, C, ""),
        # a post: data.id is the scheduled post
        ({"type": "post.published", "data": {"id": "sp_01HX", "projectId": P}}, "", P),
        # another type's prefix where a container is looked for: not taken
        ({"type": "content.generated", "data": {"id": "job_01HX", "projectId": P}}, "", P),
        ({"type": "content.generated", "data": {"contentId": "prj_x", "id": C}}, C, ""),
        # hostile values: not strings, too long, control characters, blanks
        (
            {"type": "content.generated", "data": {"id": {"$ne": 1}, "projectId": ["x"]}},
            "",
            "",
        ),
        ({"type": "content.generated", "data": {"id": "c" * 65, "projectId": " "}}, "", ""),
        ({"type": "content.generated", "data": {"id": "cnt_a\nb", "projectId": P}}, "", P),
        ({"type": "content.generated", "data": "not an object", "containerId": C}, C, ""),
    ],
)
def test_ids_are_read_from_wherever_a_sender_may_put_them(payload, container, project):
    read = payload_read(payload)
    assert (read.container_id, read.project_id) == (container, project)


def test_type_event_id_and_replay_marker():
    read = payload_read(
        {"eventId": "evt_1", "event": "Content.Generated", "data": {"replayOf": "evt_0"}}
    )
    assert (read.event_type, read.event_id, read.replay_of) == (
        "content.generated",
        "evt_1",
        "evt_0",
    )
    assert payload_read({"id": "evt_2", "replayOf": "evt_1"}).replay_of == "evt_1"
    assert payload_read({"id": "cnt_x"}).event_id == ""  # another type's id is no event id
    assert payload_read(["a list"]) == EventRead()
    assert payload_read({"type": 5, "event": "x" * 500}).event_type == ""


@pytest.mark.django_db
def test_what_each_event_asks_for():
    assert refetch_decide(EventRead("content.generated", container_id=C)) == Decision(
        "container", C
    )
    # The project is not mirrored: a container cannot be stored without it, so the project.
    assert refetch_decide(EventRead("content.generated", container_id=C, project_id=P)) == (
        Decision("project", P)
    )
    ProjectFactory(layers_id=P, key=BARE_P)
    for form in (P, BARE_P, P.upper()):
        decided = refetch_decide(EventRead("content.approved", container_id=C, project_id=form))
        assert decided == Decision("container", C)
    assert refetch_decide(EventRead("content.generated", project_id=P)) == Decision("project", P)
    assert refetch_decide(EventRead("job.completed", container_id=C, project_id=P)) == Decision(
        "project", P
    )
    assert refetch_decide(EventRead("post.failed", container_id=C)) == Decision("container", C)
    assert refetch_decide(EventRead("job.failed")).error
    assert refetch_decide(EventRead("content.generated")).error
    assert refetch_decide(EventRead("test.ping", project_id=P)) == Decision()
    assert refetch_decide(EventRead("")) == Decision()
