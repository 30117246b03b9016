"""Every URL of the URLconf, made concrete (sample ids filled in) for the access tests."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.urls import URLPattern, URLResolver, get_resolver

from creatives.models import ContentContainer
from projects.models import Project


@dataclass(frozen=True)
class Url:
    name: str | None  # namespaced ("admin:index"); None for an unnamed pattern
    route: str  # the pattern as written
    path: str  # a concrete path with sample values

    @property
    def is_admin(self) -> bool:
        return self.route.startswith("admin/")

    @property
    def label(self) -> str:
        return self.name or f"(unnamed) {self.route}"


def url_patterns() -> list[tuple[str | None, str, URLPattern]]:
    """(namespaced name, full route, pattern) for every pattern, resolvers walked."""
    found: list[tuple[str | None, str, URLPattern]] = []

    def walk(patterns, prefix: str, namespace: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                ns = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
                walk(pattern.url_patterns, prefix + str(pattern.pattern), ns)
            else:
                name = f"{namespace}{pattern.name}" if pattern.name else None
                found.append((name, prefix + str(pattern.pattern), pattern))

    walk(get_resolver().url_patterns, "", "")
    return found


def _admin_object_id(route: str) -> str:
    for model in admin.site._registry:
        prefix = f"admin/{model._meta.app_label}/{model._meta.model_name}/"
        if route.startswith(prefix):
            obj = model._default_manager.order_by("pk").first()
            return str(obj.pk) if obj is not None else "1"
    return "1"


def concrete_urls(site) -> list[Url]:
    """Every URL with sample values: project A, a creative of A, real admin objects."""
    samples = {
        "project_id": site.a.layers_id,
        "ads_content_id": site.creative_a.layers_id,
        "content_type_id": str(ContentType.objects.get_for_model(Project).pk),
        "id": str(site.users["superuser"].pk),
        "task_id": site.task.task_id,
        "view_id": "999999",  # no one's saved view
        "audit_id": "999999",  # no one's override (its Undo: 404)
        "bulk_id": "999999",  # no one's bulk action
        "container_id": ContentContainer.objects.filter(project=site.a)
        .order_by("layers_id")
        .first()
        .layers_id,
    }
    urls = []
    for name, route, _pattern in url_patterns():
        path = route

        def fill(match: re.Match, route: str = route) -> str:
            key = match.group("key")
            if key == "object_id":
                if "content_type_id" in route:
                    return str(site.a.pk)
                return _admin_object_id(route)
            if key not in samples:
                raise KeyError(f"no sample value for <{key}> in {route!r}: add one to urlconf.py")
            return samples[key]

        path = re.sub(r"(?<!\?P)<(?:\w+:)?(?P<key>\w+)>", fill, path)
        # Regex patterns (admin's app_list and catch-all): first alternative, sample tail.
        path = re.sub(r"\(\?P<\w+>([\w-]+)(?:\|[^)]*)?\)", r"\1", path)
        path = re.sub(r"\(\?P<\w+>\.\*\)", "no-such-page/", path)
        path = path.replace("^", "").replace("$", "")
        urls.append(Url(name=name, route=route, path="/" + path))
    return urls
