"""`Edge`: the one layer every HTTP request passes on its way in and out, in one pure-ASGI call.

It does what used to be four nested middlewares (security headers, odd-path refusal, access log and request
metrics, the server-error answer): each layer cost a coroutine, a `send` wrapper and its own header parsing per
request, and together they were about a sixth of a PATCH's server time (docs/PERFORMANCE.md, issue 9). Inside it
is only Starlette's `ExceptionMiddleware` (the exception handlers) and the router.

- Security headers are *imposed* (`security.HEADERS`): an endpoint's own value for one of them is replaced, so no
  answer, error or file carries a weaker policy by accident; only `Cache-Control` is the endpoint's to choose.
- A path no route may see is refused before routing: routing works on the *decoded* path, so an encoded `/`
  inside a segment (`/api/wards/x%2Fevents`) would reach another endpoint; no id holds a NUL, which PostgreSQL
  refuses in text (a misleading 503).
- An exception that no handler answered becomes the contract's 500 body (with the same headers) and is re-raised
  for the server's log, as Starlette's `ServerErrorMiddleware` does.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Final

from starlette.applications import Starlette
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, WebSocketRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket

from whiteboard.errors import ApiError
from whiteboard.metrics import Metrics
from whiteboard.web.http import error_response, handle_unexpected
from whiteboard.web.logs import route_template
from whiteboard.web.security import DEFAULT_CACHE_CONTROL, HEADERS, HSTS

ErrorHandler = Callable[[Request, Exception], Awaitable[Response]]

_IMPOSED: Final = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in HEADERS.items()]
_IMPOSED_NAMES: Final = frozenset(name for name, _ in _IMPOSED) | {b"strict-transport-security"}
_HSTS: Final = (b"strict-transport-security", HSTS.encode("latin-1"))
_NO_STORE: Final = (b"cache-control", DEFAULT_CACHE_CONTROL.encode("latin-1"))
_METHODS: Final = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_UNLOGGED: Final = frozenset({"/healthz"})


def impose_headers(message: Message, tls: bool) -> None:
    """Replace the response's security headers with ours; default `Cache-Control` to `no-store`."""
    kept = [(k, v) for k, v in message.get("headers", ()) if k.lower() not in _IMPOSED_NAMES]
    if not any(k.lower() == b"cache-control" for k, _ in kept):
        kept.append(_NO_STORE)
    kept.extend(_IMPOSED)
    if tls:
        kept.append(_HSTS)
    message["headers"] = kept


_CLOSE: Final = (b"connection", b"close")


def draining(scope: Scope) -> bool:
    """The app's instance is shutting down (web/shutdown.py); False for an app without the whiteboard's state."""
    state = getattr(getattr(scope.get("app"), "state", None), "wb", None)
    return bool(getattr(state, "draining", False))


def odd_path(scope: Scope) -> bool:
    return b"%2f" in (scope.get("raw_path") or b"").lower() or "\x00" in scope["path"]


class Edge:
    def __init__(
        self,
        app: ASGIApp,
        *,
        error_handler: ErrorHandler | Any,
        not_found: Callable[[ApiError], Response],
        metrics: Metrics | None = None,
        websocket_routes: Sequence[WebSocketRoute] = (),
    ) -> None:
        self.app = app
        self.websocket_routes = tuple(websocket_routes)
        self.error_handler = error_handler
        self.not_found = not_found
        self.metrics = metrics
        self.log = logging.getLogger("whiteboard.access")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # WebSockets and the lifespan: no HTTP answer to dress
            if scope["type"] == "websocket":
                for route in self.websocket_routes:
                    match, child = route.matches(scope)
                    if match is Match.FULL:
                        # Straight to the endpoint: every layer between would stay suspended for the life of
                        # the connection (~3 KiB of coroutine frames each time, issue 9).
                        scope.update(child)
                        await route.endpoint(WebSocket(scope, receive, send))
                        return
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        tls = scope.get("scheme") == "https"
        status = 500
        started = False

        async def send_out(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                started = True
                status = message["status"]
                impose_headers(message, tls)
                if draining(scope):  # shutting down: the client's next request opens a connection elsewhere
                    message["headers"].append(_CLOSE)
            await send(message)

        try:
            if odd_path(scope):
                refusal = ApiError(404, "not_found", "no such resource: ids never hold '/' or NUL")
                await self.not_found(refusal)(scope, receive, send_out)
            else:
                await self.app(scope, receive, send_out)
        except Exception as exc:
            if not started:
                response = await self.error_handler(Request(scope), exc)
                await response(scope, receive, send_out)
            raise
        finally:
            self._record(scope, status, time.perf_counter() - start)

    def _record(self, scope: Scope, status: int, elapsed: float) -> None:
        """One log line (never the query string, which may carry secrets) and the request metrics."""
        if self.metrics is not None:
            method = scope["method"] if scope["method"] in _METHODS else "OTHER"
            self.metrics.http_request(route_template(scope), method, status, elapsed)
        if self.log.isEnabledFor(logging.INFO) and scope["path"] not in _UNLOGGED:
            self.log.info(
                "%s %s %d",
                scope["method"],
                scope["path"],
                status,
                extra={"status": status, "ms": round(elapsed * 1000, 2)},
            )


class SecuredStarlette(Starlette):
    """A Starlette app whose whole stack is `Edge` → `ExceptionMiddleware` → router. Starlette's own stack put its
    server-error answer outside every middleware (so a 500 left without the security headers) and cost a layer
    more; here no answer leaves without the headers, the 500 one included."""

    def __init__(self, *args: Any, metrics: Metrics | None = None, **kwargs: Any) -> None:
        self.edge_metrics = metrics
        super().__init__(*args, **kwargs)

    def build_middleware_stack(self) -> ASGIApp:
        if self.user_middleware or self.max_body_size is not None:
            raise ValueError("SecuredStarlette takes no middleware: Edge is the one layer (whiteboard/web/edge.py)")
        handlers = dict(self.exception_handlers)
        error_handler = handlers.pop(Exception, None) or handlers.pop(500, None) or handle_unexpected
        handlers.pop(500, None)
        inner = ExceptionMiddleware(self.router, handlers=handlers, debug=self.debug)
        sockets = [r for r in self.router.routes if isinstance(r, WebSocketRoute) and inspect.isfunction(r.endpoint)]
        return Edge(
            inner, error_handler=error_handler, not_found=error_response, metrics=self.edge_metrics,
            websocket_routes=sockets,
        )  # fmt: skip
