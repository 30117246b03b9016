"""Reads for content review: the "Needs review" queue (pending containers, newest first)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from creatives.models import ContentContainer
from layersadmin.layers.ids import id_key
from projects.models import Project

QUEUE_SIZE = 60  # cards per page: the queue is worked through, not browsed


@dataclass
class Queue:
    items: list[ContentContainer]
    total: int

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


def review_queue(*, projects: QuerySet[Project] | list[Project], size: int = QUEUE_SIZE) -> Queue:
    pending = review_pending(projects=projects)
    items = list(pending[:size])
    total = len(items) if len(items) < size else pending.count()
    return Queue(items=items, total=total)


def review_container_get(*, project: Project, container_id: str) -> ContentContainer:
    """A container of ``project`` by any id form; ``ContentContainer.DoesNotExist`` otherwise."""
    return ContentContainer.objects.select_related("project").get(
        project=project, key=id_key(container_id)
    )
