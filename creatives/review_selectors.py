"""Reads for content review: the "Needs review" queue (pending containers, newest first)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from creatives.models import ContentContainer
from layersadmin.layers.ids import id_key
from projects.models import Project

QUEUE_SIZE = 60  # cards per page: the queue is worked through, not browsed
# Counted up to here, then "1,000+": an exact count of every pending container across an
# agency's projects walked each project's rows (87 ms of the agency queue's 140 at 200k rows,
# SQLite); a count stopped at a LIMIT reads the newest pending ones only (about 1 ms).
COUNT_CAP = 1000
# What a queue card shows (templates/creatives/review_queue.html, partials/media.html and
# review_actions.html): no payload, and of the project only its id and name.
CARD_FIELDS = (
    "layers_id",
    "project__layers_id",
    "project__name",
    "caption",
    "status",
    "format",
    "approval_status",
    "created_at",
    "preview_kind",
    "preview_url",
    "thumbnail_url",
    "image_urls",
    "duration_ms",
)


@dataclass
class Queue:
    items: list[ContentContainer]
    total: int
    capped: bool = False  # total is COUNT_CAP: at least that many wait

    @property
    def more(self) -> int:
        """How many pending containers are not shown (decide some, and they move up)."""
        return max(0, self.total - len(self.items))


def review_pending(*, projects: QuerySet[Project] | list[Project]) -> QuerySet[ContentContainer]:
    """Pending containers (REFERENCE 7.3 ``approvalStatus: pending``) of these projects that
    the API still returns, newest first."""
    return (
        ContentContainer.objects.filter(
            project__in=projects, approval_status="pending", is_gone=False
        )
        .select_related("project")
        .defer("raw")
        .order_by("-created_at", "-layers_id")
    )


def review_queue(
    *, projects: QuerySet[Project] | list[Project], size: int = QUEUE_SIZE, cap: int = COUNT_CAP
) -> Queue:
    pending = review_pending(projects=projects)
    items = list(pending.only(*CARD_FIELDS)[:size])
    if len(items) < size:
        return Queue(items=items, total=len(items))
    total = pending[:cap].count()
    return Queue(items=items, total=total, capped=total >= cap)


def review_container_get(*, project: Project, container_id: str) -> ContentContainer:
    """A container of ``project`` by any id form; ``ContentContainer.DoesNotExist`` otherwise."""
    return ContentContainer.objects.select_related("project").get(
        project=project, key=id_key(container_id)
    )
