"""Template tags about a project itself: ``{% load project_tags %}``."""

from __future__ import annotations

from typing import Any

from django import template

from projects.selectors import project_freshness

register = template.Library()


@register.inclusion_tag("projects/partials/freshness.html")
def freshness_badge(project) -> dict[str, Any]:
    """The sync-health badge every project page and the project list show."""
    return {"freshness": project_freshness(project), "project": project}
