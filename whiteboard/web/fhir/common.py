"""What the FHIR handlers share: answers as application/fhir+json, every refusal an OperationOutcome, the wards a
credential covers (as the mapping's plain values), and the audit of identifiable reads."""

from __future__ import annotations

import functools
import logging

from starlette.requests import Request
from starlette.responses import Response

from whiteboard.access.auth import Principal, forbidden
from whiteboard.errors import ApiError
from whiteboard.eventlog import EventLogUnavailable
from whiteboard.feeds.fhir import model
from whiteboard.feeds.fhir.codes import FHIR_JSON
from whiteboard.feeds.fhir.outcome import FhirError, operation_outcome
from whiteboard.feeds.fhir.search import Ward
from whiteboard.state import wb
from whiteboard.store import StoreUnavailable
from whiteboard.types import JSONDict
from whiteboard.web.http import SECURITY_STATUSES, WRITE_METHODS, Endpoint, JSONResponse, audit_read, log_refusal

log = logging.getLogger("whiteboard.fhir")


def fhir_response(resource: JSONDict, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """Checked against the R4 model before it leaves: what we send is valid R4."""
    return JSONResponse(model.checked(resource), status_code=status, media_type=FHIR_JSON, headers=headers)


def outcome_response(exc: FhirError, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(operation_outcome(exc), status_code=exc.status, media_type=FHIR_JSON, headers=headers)


def fhir_endpoint(endpoint: Endpoint) -> Endpoint:
    """Every refusal under /fhir is an OperationOutcome with the status the JSON API would give (never a 500 for
    what a client sent); refused writes are counted like the JSON API's."""

    @functools.wraps(endpoint)
    async def answered(request: Request) -> Response:
        try:
            return await endpoint(request)
        except FhirError as exc:
            _count(request, exc.status, exc.code)
            return outcome_response(exc)
        except ApiError as exc:
            said = FhirError.from_api_error(exc)
            _count(request, said.status, said.code)  # by the issue code the client received, as for FhirError
            if exc.status in SECURITY_STATUSES:
                log_refusal(request, exc.status, exc.code, f"FHIR {request.method}")
            return outcome_response(said, exc.headers)
        except (StoreUnavailable, EventLogUnavailable) as exc:
            log.warning("503 on %s %s: %s", request.method, request.url.path, exc)
            which = "database" if isinstance(exc, StoreUnavailable) else "event log"
            return outcome_response(FhirError(503, "transient", f"the {which} is unavailable; try again shortly"))

    return answered


def _count(request: Request, status: int, code: str) -> None:
    if request.method in WRITE_METHODS and 400 <= status < 500:
        wb(request).metrics.refused_write(code)


async def covered_wards(request: Request, who: Principal) -> list[Ward]:
    """The wards this credential covers, as their views hold them now (the same views the boards show)."""
    if not who.at_least("display"):
        raise forbidden("this credential sees no ward data")
    state = wb(request)
    out: list[Ward] = []
    for info in await state.store.list_wards():
        if who.covers(info.id):
            view = (await state.hub.channel(info.id)).view
            out.append(Ward(view.id, view.name, [dict(b) for b in view.beds.values()]))
    return out


def no_patients_for_display(who: Principal, kind: str) -> None:
    if who.role == "display":
        raise forbidden(f"a display credential reads no {kind}: patient data never reaches a public board")


async def audit_fhir_read(request: Request, who: Principal, wards: list[str], kind: str, count: int) -> None:
    """A person reading identifiable data is audited (per ward) before the data leaves."""
    query = str(request.url.query)[:300]
    for ward_id in wards:
        await audit_read(request, who, ward_id, "read.fhir", {"type": kind, "query": query, "count": count})
