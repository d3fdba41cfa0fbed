"""The shape-keyed routes (`web/fastroutes.py`) choose what Starlette's router chooses, for every route of the app."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from starlette.routing import BaseRoute, Match, Mount, Route

from whiteboard.web.fastroutes import FastRoutes
from whiteboard.web.routes import routes

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def router_choice(table: list[BaseRoute], scope: dict[str, Any]) -> tuple[BaseRoute, dict[str, Any]] | None:
    """Starlette's `Router.app`: the first route that matches in full."""
    for route in table:
        match, child = route.matches(scope)
        if match is Match.FULL:
            return route, child.get("path_params", {})
    return None


def sample_paths(table: list[BaseRoute]) -> list[str]:
    """Every route's path with its parameters filled in, and the near misses around each."""
    out = {"/", "/nowhere", "/static/app.js", "/static", "/api/wards/", "/api//wards", "/api/wards/a//beds/b"}
    for route in table:
        if isinstance(route, Route | Mount):
            filled = route.path.replace("{", "").replace("}", "") or "/"
            out |= {filled, filled + "/", filled + "/extra", filled.rsplit("/", 1)[0] or "/"}
            out.add(route.path.replace("{ward}", "W1").replace("{bed}", "B%2F1").replace("{id}", "x.y"))
    return sorted(out)


def test_every_path_and_method_goes_where_the_router_sends_it() -> None:
    table = routes()
    fast = FastRoutes(table)
    taken = 0
    for path, method in itertools.product(sample_paths(table), METHODS):
        scope = {"type": "http", "method": method, "path": path, "root_path": ""}
        found = fast.match(scope)
        if found is None:
            continue  # the router decides (a 404, a 405, a redirect, a mount)
        taken += 1
        expected = router_choice(table, scope)
        assert expected is not None, (method, path)
        assert found[0] is expected[0] and found[1] == expected[1], (method, path)
    assert taken > 50  # most of the app's requests take the short way


@pytest.mark.parametrize("path", ["/api/wards/W1/beds/B1", "/api/wards/a b/beds/ü"])
def test_the_bed_patch_is_found_by_its_shape(path: str) -> None:
    found = FastRoutes(routes()).match({"type": "http", "method": "PATCH", "path": path, "root_path": ""})
    assert found is not None
    route, params = found
    assert isinstance(route, Route) and route.path == "/api/wards/{ward}/beds/{bed}"
    assert params == dict(zip(("ward", "bed"), path.split("/")[3::2], strict=True))


def test_a_method_with_any_route_the_table_cannot_judge_is_left_to_the_router() -> None:
    async def endpoint(request: Any) -> Any:
        raise AssertionError("not called")

    table: list[BaseRoute] = [Route("/a/{n:int}", endpoint), Route("/a/{x}", endpoint, methods=["GET", "POST"])]
    fast = FastRoutes(table)
    assert fast.match({"type": "http", "method": "GET", "path": "/a/1", "root_path": ""}) is None  # int convertor
    assert fast.match({"type": "http", "method": "POST", "path": "/a/1", "root_path": ""}) is not None


def test_a_mount_keeps_its_first_segment() -> None:
    async def endpoint(request: Any) -> Any:
        raise AssertionError("not called")

    table: list[BaseRoute] = [Mount("/static", routes=[]), Route("/static/{x}", endpoint)]
    assert FastRoutes(table).match({"type": "http", "method": "GET", "path": "/static/x", "root_path": ""}) is None
