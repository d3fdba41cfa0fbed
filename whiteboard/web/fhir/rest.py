"""GET /fhir/metadata, /fhir/{type} (search) and /fhir/{type}/{id} (read): the board as FHIR R4."""

from __future__ import annotations

import datetime as dt

from starlette.requests import Request
from starlette.responses import Response

from whiteboard import __version__
from whiteboard.access.auth import Principal
from whiteboard.domain.clock import iso
from whiteboard.feeds.fhir import search
from whiteboard.feeds.fhir.capability import capability_statement
from whiteboard.feeds.fhir.outcome import FhirError
from whiteboard.feeds.fhir.resources import searchset
from whiteboard.types import JSONDict
from whiteboard.web.fhir.common import (
    audit_fhir_read,
    covered_wards,
    fhir_endpoint,
    fhir_response,
    no_patients_for_display,
)
from whiteboard.web.fhir.history import histories
from whiteboard.web.http import principal

# When this server's capabilities last changed (CapabilityStatement.date is required).
PUBLISHED = iso(dt.datetime(2026, 12, 1, tzinfo=dt.UTC))


@fhir_endpoint
async def metadata(request: Request) -> Response:
    """No credential needed: it names what the server does, nothing about any ward."""
    return fhir_response(capability_statement(__version__, PUBLISHED))


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/fhir"


async def _find(request: Request, who: Principal, kind: str, params: dict[str, list[str]]) -> list[JSONDict]:
    """Search `kind` over the credential's wards; identifiable results are audited before they leave."""
    if kind not in search.PARAMETERS:
        raise FhirError(404, "not-found", f"this server has no {kind!r} resources; see /fhir/metadata", "type")
    if kind in ("Patient", "Observation"):
        no_patients_for_display(who, f"{kind} resources")
    wards = await covered_wards(request, who)
    if kind == "Location":
        return search.locations(wards, params)
    if kind == "Encounter":
        found = search.encounters(wards, params, identifiable=who.role != "display")
    elif kind == "Patient":
        found = search.patients(wards, params)
    else:
        beds = search.observation_beds(wards, params)
        found = search.observations(beds, await histories(request, who, beds, params), params)
    if found and who.role != "display":
        await audit_fhir_read(request, who, search.wards_of(found, wards), kind, len(found))
    return found


@fhir_endpoint
async def search_type(request: Request) -> Response:
    who = await principal(request)
    kind = request.path_params["type"]
    if kind not in search.PARAMETERS:
        raise FhirError(404, "not-found", f"this server has no {kind!r} resources; see /fhir/metadata", "type")
    params = search.parse_params(kind, request.query_params.multi_items())
    return fhir_response(searchset(await _find(request, who, kind, params), _base(request)))


@fhir_endpoint
async def read(request: Request) -> Response:
    who = await principal(request)
    kind, rid = request.path_params["type"], request.path_params["id"]
    if kind not in search.PARAMETERS:
        raise FhirError(404, "not-found", f"this server has no {kind!r} resources; see /fhir/metadata", "type")
    found = await _find(request, who, kind, {"_id": [rid]})
    if not found:
        raise FhirError(404, "not-found", f"{kind}/{rid} is not on a ward this credential covers")
    return fhir_response(found[0])
