"""The whole URL map in one screen (CONTRACT.md)."""

from __future__ import annotations

from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute

from whiteboard.web import api, health, openapi, ops, ws
from whiteboard.web.fhir import rest as fhir_rest
from whiteboard.web.fhir import subscriptions as fhir_subscriptions
from whiteboard.web.fhir import transaction as fhir_transaction
from whiteboard.web.http import counts_refusals
from whiteboard.web.pages import admin as admin_pages
from whiteboard.web.pages import boards, login, render
from whiteboard.web.static import StaticVersions, VersionedStaticFiles


def routes() -> list[BaseRoute]:
    return [
        Route("/healthz", health.healthz),
        Route("/readyz", health.readyz),
        Route("/metrics", health.metrics),
        Route("/openapi.json", openapi.openapi_json),
        Route("/api/wards", api.list_wards),
        Route("/api/wards/{ward}", api.ward_snapshot),
        Route("/api/wards/{ward}/events", api.ward_events),
        Route("/api/wards/{ward}/beds/{bed}", counts_refusals(api.patch_bed), methods=["PATCH"]),
        Route("/api/wards/{ward}/beds/{bed}/observations", counts_refusals(api.post_observations), methods=["POST"]),
        Route("/api/wards/{ward}/beds/{bed}/observations/preview", api.preview_observations, methods=["POST"]),
        Route("/api/wards/{ward}/beds/{bed}/transfer", counts_refusals(api.transfer_bed), methods=["POST"]),
        Route("/api/wards/{ward}/beds/{bed}/swap", counts_refusals(api.swap_beds), methods=["POST"]),
        Route("/api/wards/{ward}/display-profile", counts_refusals(api.display_profile), methods=["GET", "PUT"]),
        Route("/api/audit", api.audit),
        WebSocketRoute("/ws/wards/{ward}", ws.ward_socket),
        # FHIR R4 (CONTRACT.md, "FHIR R4"): every answer application/fhir+json, every refusal an OperationOutcome.
        Route("/fhir/metadata", fhir_rest.metadata),
        Route("/fhir", fhir_transaction.transaction, methods=["POST"]),
        Route("/fhir/Subscription", fhir_subscriptions.create, methods=["POST"]),
        Route("/fhir/Subscription/{id}", fhir_subscriptions.read),
        Route(
            "/fhir/Subscription/{id}/$get-ws-binding-token", fhir_subscriptions.binding_token, methods=["GET", "POST"]
        ),
        WebSocketRoute("/fhir/ws", fhir_subscriptions.socket),
        Route("/fhir/{type}", fhir_rest.search_type),
        Route("/fhir/{type}/{id}", fhir_rest.read),
        # Pages (CONTRACT.md, "Pages") and what they load.
        Route("/", boards.root),
        Route("/login", login.login, methods=["GET", "POST"]),
        Route("/audit", admin_pages.audit_page),
        Route("/admin/displays", admin_pages.displays_page, methods=["GET", "POST"]),
        Route("/admin/users", admin_pages.users_page, methods=["GET", "POST"]),
        Route("/login/oidc", login.oidc_start, name="oidc_start"),
        Route("/login/oidc/callback", login.oidc_callback, name="oidc_callback"),
        Route("/logout", login.logout, methods=["POST"]),
        Route("/board/{ward}", boards.board),
        Route("/m", boards.mobile),
        Route("/ops", boards.ops_page),
        Route("/api/ops", ops.figures),
        Route("/api/ops/load-tests", ops.load_tests, methods=["GET", "POST"]),
        Mount("/static", VersionedStaticFiles(StaticVersions(render.static_dir())), name="static"),
    ]
