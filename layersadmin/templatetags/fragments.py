"""``{% rowcache a b c %}…{% endrowcache %}``: a list row's markup, rendered once and reused.

Issue 16 (speed): the dashboard's lists render the same rows again and again (a filter, a
sort, "Load more", another person on the same page), and the template engine spends about a
millisecond per rich row. This tag keeps a row's rendered markup in a per-process cache
(``settings.FRAGMENT_CACHE_ALIAS``, local memory) under a key **made from what the row
shows**, so nothing has to be invalidated:

* every value named in the tag, stamped whole: a model instance by all its loaded fields and
  annotations (and the related and prefetched objects it holds), a list by its items (and
  attributes), a dict or a dataclass by its fields, an evaluated queryset by its rows, plain
  values by ``repr``; anything else (a form, a queryset not run yet) makes a key of its own,
  so such a fragment is simply rendered every time;
* the active timezone and language (dates and numbers render by them);
* the fragment's own source text (a changed template never serves old markup).

A changed row is a new key; the old entry ages out. Relative times ("3 min ago") are at
most ``settings.FRAGMENT_CACHE_SECONDS`` old, the entries' lifetime; 0 turns the cache off.
Name in the tag every context value the fragment reads (the loop variable included); a
fragment that writes a CSRF token is refused when the template is parsed (the token is per
person and per request), so forms stay outside it; markup that carries it anyway (from an
included template) is rendered every time, never kept.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import hashlib
import uuid
from enum import Enum
from types import FunctionType
from typing import Any

from django import template
from django.conf import settings
from django.core.cache import caches
from django.db.models import Model, QuerySet
from django.http import QueryDict
from django.template.base import Node, NodeList, TextNode, VariableNode
from django.template.defaulttags import CsrfTokenNode
from django.utils import timezone, translation
from django.utils.functional import SimpleLazyObject, empty

register = template.Library()

_PLAIN = (
    str,
    int,
    float,
    bool,
    type(None),
    dt.datetime,
    dt.date,
    dt.time,
    decimal.Decimal,
    uuid.UUID,
    Enum,
)


# Exact types whose repr shows all they render (subclasses are told apart by name).
_SCALARS = frozenset(
    {str, int, float, bool, type(None), dt.datetime, dt.date, dt.time, decimal.Decimal, uuid.UUID}
)


def stamp(value: Any, memo: dict[int, tuple[Any, str]] | None = None, depth: int = 0) -> str:
    """A string that changes whenever anything ``value`` could render changes.

    ``memo`` keeps the stamps of model instances and dataclasses by identity during one
    render (a page's 50 rows share one project, an agency board's rows a few snapshots); it
    holds the objects too, so no id is reused by another object while it lives."""
    if type(value) in _SCALARS:
        return repr(value)
    if isinstance(value, _PLAIN):  # a subclass (a SafeString renders unescaped): its name too
        return f"{type(value).__qualname__}:{value!r}"
    if isinstance(value, type):  # a column's value type
        return f"T:{value.__module__}.{value.__qualname__}"
    if isinstance(value, FunctionType):  # a column's getter
        if value.__closure__ is not None:  # what it captured is not seen: never a hit
            return f"?:{uuid.uuid4().hex}"
        # Its code (a constant of its module: the id is never reused) and its defaults.
        return (
            f"F:{value.__module__}.{value.__qualname__}:{id(value.__code__)}"
            f":{stamp(value.__defaults__, memo, depth + 1)}"
            f":{stamp(value.__kwdefaults__, memo, depth + 1)}"
        )
    if depth > 12:  # deeper than any row's data goes (or a cycle): never a hit
        return f"?:{uuid.uuid4().hex}"
    shared = isinstance(value, Model) or dataclasses.is_dataclass(value)
    if shared and memo is not None and id(value) in memo:
        return memo[id(value)][1]
    if isinstance(value, QuerySet):
        if value._result_cache is None:  # never run a query to make a key: never a hit
            return f"Q:{uuid.uuid4().hex}"
        return stamp(value._result_cache, memo, depth + 1)
    if isinstance(value, Model):
        # Templates cannot read names that start with "_" (a memo such as a per-request
        # summary), so those are left out, except the related and prefetched objects.
        # Plain values in one repr (most of a row), the rest one by one.
        scalars, others = [], {}
        for k, v in value.__dict__.items():
            if k.startswith("_"):
                continue
            if type(v) in _SCALARS:
                scalars.append((k, v))
            else:
                others[k] = v
        cached = getattr(value._state, "fields_cache", {})
        prefetched = value.__dict__.get("_prefetched_objects_cache") or {}
        result = (
            f"M:{value._meta.label}:{scalars!r}:{stamp(others, memo, depth + 1)}"
            f":{stamp(dict(cached), memo, depth + 1) if cached else ''}"
            f":{stamp(dict(prefetched), memo, depth + 1) if prefetched else ''}"
        )
    elif isinstance(value, QueryDict):
        result = "QD" + stamp(dict(value.lists()), memo, depth + 1)
    elif isinstance(value, dict):
        result = (
            "{" + ",".join(f"{k!r}:{stamp(v, memo, depth + 1)}" for k, v in value.items()) + "}"
        )
    elif isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=repr) if isinstance(value, set | frozenset) else value
        own = getattr(value, "__dict__", None)
        result = (
            f"{type(value).__name__}[" + ",".join(stamp(v, memo, depth + 1) for v in items) + "]"
            + (stamp(own, memo, depth + 1) if own else "")
        )  # fmt: skip
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        result = f"D:{type(value).__qualname__}:{stamp(vars(value), memo, depth + 1)}"
    else:  # a repr need not show everything (a form, a QueryDict): never a hit
        return f"?:{uuid.uuid4().hex}"
    if shared and memo is not None:
        memo[id(value)] = (value, result)
    return result


def _writes_csrf_token(nodelist: NodeList) -> bool:
    for node in nodelist.get_nodes_by_type(Node):
        if isinstance(node, CsrfTokenNode):
            return True
        if isinstance(node, VariableNode) and "csrf_token" in str(node.filter_expression.token):
            return True
    return False


class RowCacheNode(Node):
    def __init__(self, nodelist: NodeList, values: list, source: str) -> None:
        self.nodelist = nodelist
        self.values = values
        self.source = hashlib.blake2b(source.encode(), digest_size=8).hexdigest()

    def render(self, context: template.Context) -> str:
        seconds = getattr(settings, "FRAGMENT_CACHE_SECONDS", 0)
        if not seconds:
            return self.nodelist.render(context)
        # Stamps of shared objects, kept for this render only (the bottom of its stack).
        memo = context.render_context.dicts[0].setdefault("rowcache_memo", {})
        parts = [
            self.source,
            str(timezone.get_current_timezone_name()),
            translation.get_language() or "",
            *(stamp(value.resolve(context), memo) for value in self.values),
        ]
        key = "row:" + hashlib.blake2b("\x1f".join(parts).encode(), digest_size=16).hexdigest()
        cache = caches[getattr(settings, "FRAGMENT_CACHE_ALIAS", "default")]
        markup = cache.get(key)
        if markup is None:
            markup = self.nodelist.render(context)
            if not _holds_csrf_token(markup, context):
                cache.set(key, str(markup), seconds)
        return markup


def _holds_csrf_token(markup: str, context: template.Context) -> bool:
    """Whether ``markup`` carries this request's CSRF token (an included template can write
    it, which the parse-time check cannot see): such markup is never kept. A token the page
    never asked for is left unmade (making it would set the cookie)."""
    token = context.get("csrf_token")
    if token is None:
        return False
    if isinstance(token, SimpleLazyObject) and token._wrapped is empty:
        return False
    value = str(token)
    return bool(value) and value != "NOTPROVIDED" and value in markup


@register.tag("rowcache")
def do_rowcache(parser: template.base.Parser, token: template.base.Token) -> RowCacheNode:
    """``{% rowcache row table project %}…{% endrowcache %}``: see the module docstring."""
    bits = token.split_contents()[1:]
    if not bits:
        raise template.TemplateSyntaxError("rowcache names the values the fragment shows")
    nodelist = parser.parse(("endrowcache",))
    parser.delete_first_token()
    if _writes_csrf_token(nodelist):
        raise template.TemplateSyntaxError(
            "rowcache: this fragment writes a CSRF token (per person, per request): keep the "
            "form outside it"
        )
    # Where the fragment is and what it says: two fragments never share a key.
    origin = getattr(getattr(parser, "origin", None), "name", "")
    source = f"{origin}:{token.lineno}:" + "".join(
        _source(n) for n in nodelist.get_nodes_by_type(Node)
    )
    return RowCacheNode(nodelist, [parser.compile_filter(bit) for bit in bits], source)


def _source(node: Node) -> str:
    if isinstance(node, TextNode):
        return node.s
    token = getattr(node, "token", None)
    return token.contents if token is not None else type(node).__name__
