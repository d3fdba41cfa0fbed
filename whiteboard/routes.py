"""The whole URL map in one screen (CONTRACT.md)."""

from __future__ import annotations

from starlette.routing import BaseRoute, Route, WebSocketRoute

from whiteboard import api, health, ws


def routes() -> list[BaseRoute]:
    return [
        Route("/healthz", health.healthz),
        Route("/readyz", health.readyz),
        Route("/metrics", health.metrics),
        Route("/api/wards", api.list_wards),
        Route("/api/wards/{ward}", api.ward_snapshot),
        Route("/api/wards/{ward}/events", api.ward_events),
        Route("/api/wards/{ward}/beds/{bed}", api.patch_bed, methods=["PATCH"]),
        Route("/api/wards/{ward}/beds/{bed}/observations", api.post_observations, methods=["POST"]),
        Route("/api/audit", api.audit),
        WebSocketRoute("/ws/wards/{ward}", ws.ward_socket),
    ]
