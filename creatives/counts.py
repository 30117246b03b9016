"""The project list's per-project figures, derived from the mirrored rows and stored."""

from __future__ import annotations

from django.db.models import Count, Q

from creatives.models import AdsContent, ContentContainer
from projects.models import Project

COUNT_FIELDS = [
    "content_count",
    "scored_count",
    "eligible_count",
    "top_creative_id",
    "top_creative_title",
    "top_creative_score",
    "top_creative_thumbnail",
]


def project_counts(*, project: Project) -> dict:
    """Content / scored / eligible counts and the best eligible creative (by score), gone rows
    left out. Three queries, each bounded by the project's rows."""
    content = ContentContainer.objects.filter(project=project, is_gone=False).count()
    ads = AdsContent.objects.filter(project=project, is_gone=False)
    totals = ads.aggregate(scored=Count("pk"), eligible=Count("pk", filter=Q(is_eligible=True)))
    top = (
        ads.filter(is_eligible=True)
        .order_by("-organic_score", "-layers_id")
        .values("layers_id", "title", "organic_score", "thumbnail_url")
        .first()
    ) or {}
    return {
        "content_count": content,
        "scored_count": totals["scored"],
        "eligible_count": totals["eligible"],
        "top_creative_id": top.get("layers_id"),
        "top_creative_title": top.get("title") or "",
        "top_creative_score": top.get("organic_score"),
        "top_creative_thumbnail": top.get("thumbnail_url") or "",
    }


def project_counts_refresh(*, project: Project) -> Project:
    """Recompute and store ``project``'s figures (also set on the instance)."""
    values = project_counts(project=project)
    Project.objects.filter(pk=project.pk).update(**values)
    for name, value in values.items():
        setattr(project, name, value)
    return project
