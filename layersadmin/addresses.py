"""What a dashboard page's address carries: its filters, never an empty parameter.

A plain GET form names every field when it is submitted, empty or not (``?creativeType=&
since=``), and htmx pushes that address as it was sent. ``no_empty_parameters`` makes every
filtered page answer such an address the way ``creatives.views.creative_list`` does: a plain
request is redirected to the same address without the empty parameters, an htmx request gets
its fragment and that cleaner address to push (``HX-Push-Url``).

``query_normalise`` is the one form a saved view keeps (``layersadmin.saved_views``): no empty
parameter, no paging (``cursor``, ``page``), keys sorted, so the same filters are always the
same text, whichever order a form or a hand-typed link gave them in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any
from urllib.parse import parse_qsl, urlencode

from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect
from django_htmx.http import push_url

from layersadmin.htmx import wants_fragment

PAGING_PARAMETERS = frozenset({"cursor", "page"})
# parse_qsl's own guard against a query of a million fields (Django's is the same number).
MAX_FIELDS = 1000


def _pairs(params: QueryDict | str) -> Iterable[tuple[str, str]]:
    if isinstance(params, str):
        try:
            return parse_qsl(params.lstrip("?"), keep_blank_values=True, max_num_fields=MAX_FIELDS)
        except ValueError:  # more fields than that: nobody's filters
            return []
    return ((name, value) for name, values in params.lists() for value in values)


def has_empty(params: QueryDict) -> bool:
    """True when a parameter (or its name) is empty: ``?since=``, ``?=x``."""
    return any(not name or value == "" for name, values in params.lists() for value in values)


def query_without_empty(params: QueryDict | str) -> str:
    """The query string without empty parameters, otherwise as given (order, paging kept)."""
    return urlencode([(name, value) for name, value in _pairs(params) if name and value != ""])


def query_normalise(params: QueryDict | str) -> str:
    """The query string a saved view keeps: no empty parameter, no ``cursor`` or ``page``,
    names sorted (a name's repeated values keep their order, which a form gives)."""
    kept = [
        (name, value)
        for name, value in _pairs(params)
        if name and value != "" and name not in PAGING_PARAMETERS
    ]
    kept.sort(key=lambda pair: pair[0])  # stable: repeated values keep their order
    return urlencode(kept)


def address(path: str, query: str) -> str:
    return f"{path}?{query}" if query else path


def no_empty_parameters(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A GET page whose address never keeps an empty parameter (see the module docstring).

    Only a request that has one is touched: a plain one is redirected, an htmx fragment is
    rendered as usual and told which address to push instead of the one it was sent to.
    """

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not has_empty(request.GET):
            return view(request, *args, **kwargs)
        clean = address(request.path, query_without_empty(request.GET))
        if not getattr(request, "htmx", False):
            return redirect(clean)
        response = view(request, *args, **kwargs)
        if wants_fragment(request) and not request.GET.get("cursor"):  # not a "Load more"
            push_url(response, clean)
        return response

    return wrapper
