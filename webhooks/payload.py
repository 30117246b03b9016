"""Reading a webhook's payload, whose shape Layers does not document (REFERENCE 6 names the
header, the event types and that ``content.generated`` carries a ``preview``; nothing more).

So every place a reasonable sender would put a thing is tried, in order, and the first usable
value wins:

* the type: ``type``, ``event``, ``eventType``, ``event_type``;
* the container: ``data.containerId``, ``data.contentId`` (and their snake_case forms),
  ``data.content.id``, ``data.container.id``, ``data.object.id``, the same at the top level,
  and for a ``content.*`` event ``data.id`` (there the data *is* the container; in a
  ``job.*`` or ``post.*`` event ``data.id`` is the job or the post);
* the project: ``data.projectId``, ``data.project_id``, ``data.project.id``, the project of
  ``data.content`` / ``data.container`` / ``data.object``, the same at the top level;
* the replayed event (C15: ``data.replayOf`` or a top-level ``replayOf``).

An id is taken in any form (``cnt_…`` or bare, any case: ``layersadmin.layers.ids``), but one
that carries another type's prefix (``job_…`` where a container is looked for) is not taken.
Values are strings of at most 64 printable characters; anything else is ignored, never an
error: a delivery we cannot act on is recorded as such.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from layersadmin.layers.ids import KNOWN_PREFIXES
from webhooks.vocabulary import CONTENT_FAMILY

MAX_ID = 64
_TYPE_KEYS = ("type", "event", "eventType", "event_type")
_CONTAINER_KEYS = ("containerId", "contentId", "container_id", "content_id")
_PROJECT_KEYS = ("projectId", "project_id")
_NESTED_CONTAINERS = ("content", "container", "object")


@dataclass(frozen=True)
class EventRead:
    """What a payload says, as far as we can tell."""

    event_type: str = ""
    event_id: str = ""  # the payload's own id of the event (``id`` / ``eventId``), if any
    replay_of: str = ""
    container_id: str = ""
    project_id: str = ""


def payload_read(payload: Any) -> EventRead:
    """Everything we use from a parsed payload (any JSON value; non-objects give nothing)."""
    if not isinstance(payload, dict):
        return EventRead()
    data = payload.get("data") if isinstance(payload.get("data"), dict) else {}
    event_type = _first_text(payload, _TYPE_KEYS, limit=100).lower()
    places = [data, payload]  # data first: the top level is the envelope
    container = ""
    for place in places:
        container = container or _first_id(place, _CONTAINER_KEYS, "cnt_")
        for name in _NESTED_CONTAINERS:
            nested = place.get(name)
            if isinstance(nested, dict):
                container = container or _id(nested.get("id"), "cnt_")
    if not container and event_type.startswith(CONTENT_FAMILY):
        container = _id(data.get("id"), "cnt_")
    project = ""
    for place in places:
        project = project or _first_id(place, _PROJECT_KEYS, "prj_")
        nested_project = place.get("project")
        if isinstance(nested_project, dict):
            project = project or _id(nested_project.get("id"), "prj_")
        for name in _NESTED_CONTAINERS:
            nested = place.get(name)
            if isinstance(nested, dict):
                project = project or _first_id(nested, _PROJECT_KEYS, "prj_")
    return EventRead(
        event_type=event_type,
        event_id=_id(payload.get("id"), "evt_") or _id(payload.get("eventId"), "evt_"),
        replay_of=_id(data.get("replayOf"), "evt_") or _id(payload.get("replayOf"), "evt_"),
        container_id=container,
        project_id=project,
    )


def clean_id(value: Any) -> str:
    """``value`` as an id we may store and send: a string of 1-64 printable characters with
    no whitespace, else ''."""
    if not isinstance(value, str):
        return ""
    text = value.strip()
    if not text or len(text) > MAX_ID or not text.isprintable() or any(c.isspace() for c in text):
        return ""
    return text


def _id(value: Any, prefix: str) -> str:
    """An id of the type ``prefix`` names: its own prefix or none of the known ones."""
    text = clean_id(value)
    lowered = text.lower()
    for known in KNOWN_PREFIXES:
        if known != prefix and lowered.startswith(known):
            return ""
    return text


def _first_id(place: dict, keys: tuple[str, ...], prefix: str) -> str:
    for key in keys:
        found = _id(place.get(key), prefix)
        if found:
            return found
    return ""


def _first_text(place: dict, keys: tuple[str, ...], *, limit: int) -> str:
    for key in keys:
        value = place.get(key)
        if isinstance(value, str) and value.strip() and len(value) <= limit and value.isprintable():
            return value.strip()
    return ""
