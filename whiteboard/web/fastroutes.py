"""Routing by a dict on the path's shape, and the endpoint called without Starlette's per-request layers.

Starlette's router tries every route's regular expression in turn (a PATCH of a bed is the eighth), then wraps the
endpoint twice in exception handling (`ExceptionMiddleware`, then `request_response`), building a `Request` and a
`send` wrapper in each: at 100 writes/s, with nothing batched, those layers were a tenth of the event loop's CPU
per write (docs/PERFORMANCE.md, issue 9). `FastRoutes` finds the same route with one dict lookup on (number of
segments, first segment) and a comparison of the literal segments, and `Edge` calls its endpoint once, with one
`Request` and the same exception handlers looked up the same way (`lookup_handler`).

It answers only where the answer is certainly the router's own. A path is taken when, for its method, every route
that accepts the method is a plain `Route` whose segments are literals or `{name}` string parameters starting
with a literal, and no `Mount` claims its first segment; anything else (a 405, a 404, a redirect, a mount, another
convertor) goes on to the router. Because the routes of one method are kept in their declared order and the
first whose shape matches wins, the choice is the router's: an earlier route that matched would accept the method
too, so it would be in the same list, earlier.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Sequence
from typing import Any, Final

from starlette._utils import get_route_path
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.types import Scope

_PARAM: Final = re.compile(r"^\{([A-Za-z_][A-Za-z0-9_]*)\}$")  # `{name}`: the default `str` convertor only
_Entry = tuple[Route, tuple[tuple[int, str], ...], tuple[tuple[int, str], ...]]  # route, literals, params


def _shape(route: Route) -> tuple[list[str | None], list[str]] | None:
    """Per segment its literal (or None for a parameter), and the parameter names; None when not a plain shape."""
    if not route.path.startswith("/"):
        return None
    parts: list[str | None] = []
    names: list[str] = []
    for seg in route.path[1:].split("/"):
        m = _PARAM.match(seg)
        if m:
            parts.append(None)
            names.append(m.group(1))
        elif "{" in seg or "}" in seg:
            return None  # a convertor (`{x:int}`) or a parameter inside a segment
        else:
            parts.append(seg)
    if not parts or parts[0] is None:
        return None
    return parts, names


def _fast_endpoint(route: Route) -> bool:
    """Starlette wraps a plain async function with `request_response`; only those are called directly."""
    endpoint = route.endpoint
    return (inspect.isfunction(endpoint) or inspect.ismethod(endpoint)) and inspect.iscoroutinefunction(endpoint)


class FastRoutes:
    def __init__(self, routes: Sequence[BaseRoute]) -> None:
        self._mounts: frozenset[str] = frozenset()
        self._table: dict[tuple[str, int, str], list[_Entry]] = {}
        mounts: set[str] = set()
        by_method: dict[str, list[Route]] = {}
        refused: set[str] = set()
        for route in routes:
            if isinstance(route, WebSocketRoute):
                continue  # never matches an HTTP request
            if isinstance(route, Mount):
                mounts.add(route.path.strip("/").split("/")[0])
                continue
            if not isinstance(route, Route):
                self._table = {}
                return  # a kind of route this table cannot judge: the router decides everything
            methods = route.methods or set()
            plain = _shape(route) is not None and _fast_endpoint(route)
            for method in methods:
                if plain:
                    by_method.setdefault(method, []).append(route)
                else:
                    refused.add(method)
        self._mounts = frozenset(mounts)
        for method, listed in by_method.items():
            if method in refused:
                continue
            for route in listed:
                shape = _shape(route)
                assert shape is not None
                parts, names = shape
                literals = tuple((i, p) for i, p in enumerate(parts) if p is not None)
                params = tuple(zip([i for i, p in enumerate(parts) if p is None], names, strict=True))
                first = parts[0]
                assert first is not None
                self._table.setdefault((method, len(parts), first), []).append((route, literals, params))

    def match(self, scope: Scope) -> tuple[Route, dict[str, Any]] | None:
        """The route the router would choose and its path parameters, or None: let the router decide."""
        segs = get_route_path(scope)[1:].split("/")
        head = segs[0]
        if head in self._mounts:
            return None
        candidates = self._table.get((scope["method"], len(segs), head))
        if candidates is None:
            return None
        for route, literals, params in candidates:
            if all(segs[i] == lit for i, lit in literals) and all(segs[i] for i, _ in params):
                return route, {name: segs[i] for i, name in params}
        return None
