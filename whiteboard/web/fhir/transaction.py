"""POST /fhir: a `transaction` Bundle applied to the board all-or-nothing, as ONE request through the write path
(one database transaction, every bed change audited and pushed live like a nurse's), answered with a
`transaction-response` Bundle, or an OperationOutcome naming the entry that was refused (and nothing changed)."""

from __future__ import annotations

import uuid

from starlette.requests import Request
from starlette.responses import Response

from whiteboard.access.auth import forbidden
from whiteboard.errors import ApiError, ChangeRefused
from whiteboard.eventlog import EventLogUnavailable
from whiteboard.feeds.fhir.outcome import FhirError, information
from whiteboard.feeds.fhir.transaction import Plan, plan_transaction
from whiteboard.state import wb
from whiteboard.store import Actor, WriteRequest, Written
from whiteboard.types import JSONDict
from whiteboard.web.fhir.common import covered_wards, fhir_endpoint, fhir_response
from whiteboard.web.http import principal, read_json

_BODY_TYPES = ("application/fhir+json", "application/json")


@fhir_endpoint
async def transaction(request: Request) -> Response:
    who = await principal(request)
    if not who.at_least("nurse"):
        raise forbidden("changing the board takes a nurse's credential or higher")
    state = wb(request)
    state.write_limiter.check(who.credential_id, "changes from this credential")
    kind = request.headers.get("content-type", "application/fhir+json").split(";")[0].strip().lower()
    if kind not in _BODY_TYPES:
        raise FhirError(415, "not-supported", "send the Bundle as application/fhir+json")
    bundle = await read_json(request)
    plan = plan_transaction(bundle, await covered_wards(request, who), who.can_write_ward)
    parts: tuple[Written, ...] = ()
    if plan.changes.items:
        request_id = (request.headers.get("x-request-id") or uuid.uuid4().hex)[:64]
        actor = Actor(who.name, who.role, who.credential_id, source="fhir")
        first_ward = plan.changes.items[0][0]
        try:
            written = await state.ingest.submit(
                WriteRequest(first_ward, None, plan.changes, actor, request_id=request_id)
            )
        except ChangeRefused as exc:
            entry = plan.beds.get((exc.ward_id, exc.bed_id), [0])[0]
            raise FhirError.from_api_error(exc, f"Bundle.entry[{entry}]") from None
        except ApiError as exc:
            if exc.status >= 500:
                raise
            raise FhirError.from_api_error(exc) from None
        parts = written.parts
        await _read_your_writes(request, parts)
    return fhir_response(_response_bundle(plan, parts))


async def _read_your_writes(request: Request, parts: tuple[Written, ...]) -> None:
    """A client that posts and then reads on this instance sees its changes (as after a PATCH)."""
    state = wb(request)
    for part in parts:
        try:
            ch = await state.hub.channel(part.ward_id)
        except EventLogUnavailable:
            return
        await ch.wait_for(part.seq, state.settings.own_write_wait_secs)


def _response_bundle(plan: Plan, parts: tuple[Written, ...]) -> JSONDict:
    changed: set[tuple[str, str]] = set()
    for part in parts:
        for w in (part, *part.also):  # a move writes two beds: the event's own and those in its `also`
            if w.event is not None:
                ward = str(w.event["ward"])
                changed |= {(ward, str(w.event["bed"]))} | {(ward, str(b)) for b in w.event.get("also") or {}}
    entry_changed = {i for key, entries in plan.beds.items() if key in changed for i in entries}
    entries: list[JSONDict] = []
    for i, (status, location) in enumerate(plan.answers):
        effect = "created" if status.startswith("201") else ("changed" if i in entry_changed else "unchanged")
        response: JSONDict = {"status": status, "outcome": information(effect)}
        if location:
            response["location"] = location
        entries.append({"response": response})
    return {"resourceType": "Bundle", "type": "transaction-response", "entry": entries}
