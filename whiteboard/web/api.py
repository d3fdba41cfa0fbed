"""JSON endpoints under /api (CONTRACT.md, "HTTP"). Snapshots come from the in-memory ward views;
writes go through `ingest`; every answer passes the one privacy filter."""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid

import orjson
from starlette.requests import Request
from starlette.responses import Response

from whiteboard.access.auth import Principal, forbidden
from whiteboard.domain import moves, observations, offsets, redact
from whiteboard.domain.beds import BedPatch, parse_display_profile, parse_patch
from whiteboard.domain.board import WardView
from whiteboard.domain.clock import as_utc, utc_now
from whiteboard.domain.numbers import whole_number
from whiteboard.domain.wire.answers import DisplayProfile, WardSummary
from whiteboard.domain.wire.values import AUDIT_LIMIT_DEFAULT, AUDIT_LIMIT_MAX, EVENTS_LIMIT_DEFAULT
from whiteboard.errors import ApiError, DomainError
from whiteboard.eventlog import EventLogUnavailable, recovery
from whiteboard.feeds import fhir_audit
from whiteboard.live.hub import WardChannel
from whiteboard.state import wb
from whiteboard.store import WriteRequest, Written
from whiteboard.web.http import JSONResponse, audit_read, principal, read_json, request_actor


async def _readable_ward(request: Request) -> tuple[Principal, WardChannel]:
    who = await principal(request)
    ward_id = request.path_params["ward"]
    if not who.can_read_ward(ward_id):
        raise forbidden(f"this credential does not cover ward {ward_id!r}")
    return who, await wb(request).hub.channel(ward_id)


async def list_wards(request: Request) -> Response:
    who = await principal(request)
    if not who.at_least("display"):
        raise forbidden("this credential sees no ward data")
    wards = await wb(request).store.list_wards()
    answer: list[WardSummary] = [{"id": w.id, "name": w.name, "beds": w.beds} for w in wards if who.covers(w.id)]
    return JSONResponse(answer)


def _entity_tags(header: str) -> list[str]:
    """An If-Match or If-None-Match list as bare tags, weak prefix and quotes removed (empty items kept: they
    name nothing). The one parser of both headers."""
    return [t.strip().removeprefix("W/").strip('"') for t in header.split(",")]


def _etag_matches(header: str | None, etag: str) -> bool:
    """If-None-Match, compared weakly (RFC 9110 13.1.2): `*` or any listed tag."""
    if header is None:
        return False
    tags = _entity_tags(header)
    return "*" in tags or etag.strip('"') in tags


async def ward_snapshot(request: Request) -> Response:
    who, ch = await _readable_ward(request)
    view = ch.view
    # Names, NHS numbers and dates of birth: never stored in a cache. The phone revalidates with If-None-Match.
    headers = {"ETag": view.etag, "Cache-Control": "no-store", "Vary": "Authorization, Cookie"}
    if _etag_matches(request.headers.get("if-none-match"), view.etag):
        return Response(status_code=304, headers=headers)
    body = view.snapshot_bytes(view.audience_for(who.role))
    await audit_read(request, who, view.id, "read.snapshot", {"offset": view.offset})
    return JSONResponse(body, headers=headers)


def _request_id(request: Request) -> str:
    """The client's X-Request-Id for the audit trail, cut to the 64 characters the column holds."""
    return (request.headers.get("x-request-id") or uuid.uuid4().hex)[:64]


# A version is a ward seq: a BIGINT. Longer digit strings are not versions (and `int()` refuses past
# 4,300 digits): bound before converting.
_VERSION_DIGITS_MAX = 19


def _if_match(request: Request, loaded: WardChannel | None) -> int | None:
    """The bed version an If-Match names; the transaction compares it with the bed's own version.

    Accepted: the bed's ETag `"bed-V.UID8"` (a write's answer), `"bed-V"` (the `version` of a bed in a
    snapshot), or, for clients written before beds had versions, a ward ETag `"SEQ.UID8"`: a position
    of the whole ward is a version of every bed in it, so it is refused only when *this* bed changed
    after it, never because another bed did.
    """
    header = request.headers.get("if-match")
    if header is None or header.strip() == "*":
        return None
    tag = _entity_tags(header)[0]
    bed_tag = tag.startswith("bed-")
    raw_seq, dot, uid = tag.removeprefix("bed-").partition(".")
    ours = loaded is None or uid == loaded.view.uid[:8]
    seq = whole_number(raw_seq, max_digits=_VERSION_DIGITS_MAX)
    if seq is None or (not bed_tag and not uid) or (dot and (not uid or not ours)):
        raise ApiError(412, "precondition_failed", "If-Match is not a current ETag of this bed: reload and retry")
    return seq


def bed_etag(version: int, uid: str) -> str:
    return f'"bed-{version}.{uid[:8]}"'


async def _write(
    request: Request, who: Principal, patch: BedPatch | observations.ObservationRecord
) -> tuple[Written, WardChannel | None]:
    """Commit through the one write path. Works while the event log is down: the outbox keeps the change."""
    state = wb(request)
    ward_id = request.path_params["ward"]
    written = await state.ingest.submit(
        WriteRequest(
            ward_id=ward_id,
            bed_id=request.path_params["bed"],
            patch=patch,
            actor=request_actor(who, request),
            if_match_seq=_if_match(request, state.hub.channels.get(ward_id)),
            request_id=_request_id(request),
        )
    )
    try:
        ch = await state.hub.channel(ward_id)
    except EventLogUnavailable:
        return written, None
    if written.event is not None:
        # Read-your-writes: a client that PATCHes and then GETs on this instance sees its change.
        await ch.wait_for(written.seq, state.settings.own_write_wait_secs)
    return written, ch


def _write_response(
    who: Principal, written: Written, ch: WardChannel | None, extra: dict[str, object] | None = None
) -> Response:
    event = written.event
    if event is not None:
        # Writers are staff; the filter still runs, so a future writing role cannot see more than its view.
        audience = ch.view.audience_for(who.role) if ch is not None else redact.STAFF
        event = redact.event(event, audience)
    version = written.version if written.version is not None else written.seq
    body: dict[str, object] = {"offset": offsets.format(written.seq), "event": event, "version": version}
    body.update(extra or {})
    uid = written.log.rsplit(":", 1)[-1]
    return JSONResponse(body, headers={"ETag": bed_etag(version, uid)})


def _may_write(request: Request, who: Principal) -> None:
    ward_id = request.path_params["ward"]
    if not who.can_write_ward(ward_id):
        raise forbidden(
            f"this credential may not change ward {ward_id!r}"
            + ("" if who.covers(ward_id) else " (it covers other wards)")
        )
    wb(request).write_limiter.check(who.credential_id, "changes from this credential")


async def patch_bed(request: Request) -> Response:
    who = await principal(request)
    _may_write(request, who)
    patch = parse_patch(await read_json(request))
    written, ch = await _write(request, who, patch)
    return _write_response(who, written, ch)


async def post_observations(request: Request) -> Response:
    """Chart a set of observations: the bed's NEWS2 and the patient's history change in one transaction."""
    who = await principal(request)
    _may_write(request, who)
    rec = observations.record(await read_json(request), utc_now())
    written, ch = await _write(request, who, rec)
    return _write_response(who, written, ch, {"news2": observations.preview(rec)})


async def preview_observations(request: Request) -> Response:
    """What saving these observations would chart (score, band, next due, Chart 4 response), saving nothing.

    The phone shows it before the nurse saves, so the one scoring table is the server's. Judged against the
    bed as this instance's view holds it; the save itself is judged again inside its transaction.
    """
    who = await principal(request)
    ward_id, bed_id = request.path_params["ward"], request.path_params["bed"]
    if not who.can_write_ward(ward_id):
        raise forbidden(f"this credential may not change ward {ward_id!r}")
    rec = observations.record(await read_json(request), utc_now())
    bed = (await wb(request).hub.channel(ward_id)).view.beds.get(bed_id)
    if bed is None:
        raise ApiError(404, "not_found", f"ward {ward_id!r} has no bed {bed_id!r}")
    if bed.get("patient") is None:
        raise DomainError("there is no patient on this bed", "patient", "no_patient")
    observations.check_scale(rec.obs, bed["patient"])
    return JSONResponse({"news2": observations.preview(rec)}, headers={"Cache-Control": "no-store"})


async def transfer_bed(request: Request) -> Response:
    """Move the bed's patient to an empty bed of this or another ward (the same write as an HL7 A02)."""
    return await _move(request, swap=False)


async def swap_beds(request: Request) -> Response:
    """Exchange the patients of two beds (the same write as an HL7 A17)."""
    return await _move(request, swap=True)


async def _move(request: Request, *, swap: bool) -> Response:
    """Both wards' write right is needed; one transaction changes both beds, each ward's board gets its event."""
    who = await principal(request)
    _may_write(request, who)
    ward_id, bed_id = request.path_params["ward"], request.path_params["bed"]
    move = moves.parse_move(await read_json(request), ward_id, bed_id, swap=swap)
    if not who.can_write_ward(move.to_ward):
        raise forbidden(f"this credential may not change ward {move.to_ward!r}, where the other bed is")
    state = wb(request)
    written = await state.ingest.submit(
        WriteRequest(
            ward_id=ward_id,
            bed_id=bed_id,
            patch=move,
            actor=request_actor(who, request),
            if_match_seq=_if_match(request, state.hub.channels.get(ward_id)),
            request_id=_request_id(request),
        )
    )
    channels: dict[str, WardChannel] = {}
    for part in (written, *written.also):
        try:
            channels[part.ward_id] = ch = await state.hub.channel(part.ward_id)
        except EventLogUnavailable:
            continue
        await ch.wait_for(part.seq, state.settings.own_write_wait_secs)
    other = written.also[0] if written.also else written
    other_event = other.event
    if other_event is not None and other is not written:
        other_ch = channels.get(other.ward_id)
        other_event = redact.event(other_event, other_ch.view.audience_for(who.role) if other_ch else redact.STAFF)
    to = {"ward": move.to_ward, "bed": move.to_bed, "offset": offsets.format(other.seq), "version": other.seq}
    if other is not written:
        to["event"] = other_event
    return _write_response(who, written, channels.get(ward_id), {"to": to})


async def ward_events(request: Request) -> Response:
    who, ch = await _readable_ward(request)
    state = wb(request)
    q = request.query_params
    try:
        after = offsets.parse(q.get("since", "0-0"))
    except offsets.BadOffset as exc:
        raise ApiError(400, "bad_offset", str(exc), "since") from None
    limit = whole_number(q.get("limit", str(EVENTS_LIMIT_DEFAULT)))
    if limit is None or not 1 <= limit <= state.settings.events_page_max:
        raise ApiError(
            400, "bad_limit", f"limit must be a whole number from 1 to {state.settings.events_page_max}", "limit"
        )
    view = ch.view
    epoch, entries = await state.eventlog.read(view.log, after, limit)
    top = max(view.seq, entries[-1].seq if entries else 0)
    if not recovery.is_recovered(after, entries, log_epoch=epoch, after_epoch=q.get("epoch"), top=top):
        raise ApiError(
            410,
            "gone",
            f"events after {offsets.format(after)} are no longer kept for this epoch: load the ward snapshot again",
            "since",
        )
    audience = view.audience_for(who.role)
    nxt = offsets.format(entries[-1].seq if entries else after)
    if entries:
        await audit_read(request, who, view.id, "read.events", {"since": offsets.format(after), "next": nxt})
    if audience.display_fields is None:
        # Staff see events as stored: splice the stored bytes instead of decoding and re-encoding them.
        items = b",".join(b'{"offset":"%d-0","event":%s}' % (e.seq, e.payload) for e in entries)
        body = b'{"epoch":%s,"events":[%s],"next":"%s"}' % (orjson.dumps(epoch), items, nxt.encode())
        return JSONResponse(body)
    events = [{"offset": e.offset, "event": redact.event(orjson.loads(e.payload), audience)} for e in entries]
    return JSONResponse({"epoch": epoch, "events": events, "next": nxt})


def _time_param(request: Request, name: str) -> dt.datetime | None:
    raw = request.query_params.get(name)
    if not raw:
        return None
    try:
        value = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise ApiError(400, "bad_time", f"{name} must be a time like 2026-11-22T09:00:00Z", name) from None
    try:
        return as_utc(value)
    except OverflowError:  # e.g. 9999-12-31T23:59:59-14:00 is past the last representable UTC time
        raise ApiError(400, "bad_time", f"{name} is out of range", name) from None


AUDIT_CSV_COLUMNS = (
    "id", "at", "actor", "credential_id", "role", "source", "action", "ward", "bed", "offset", "before", "after",
    "request_id", "hash",
)  # fmt: skip


async def audit(request: Request) -> Response:
    """Audit records, newest first, filtered by ward, bed, person and time; JSON, or CSV with `format=csv`."""
    who = await principal(request)
    if not who.at_least("ward_manager"):
        raise forbidden("the audit trail is for ward managers and admins")
    q = request.query_params
    for name in ("ward", "bed", "person"):
        if "\x00" in q.get(name, ""):  # no id or name holds one, and PostgreSQL refuses it in text
            raise ApiError(400, "bad_request", f"{name} must not contain a NUL character", name)
    ward = q.get("ward") or None
    if ward is not None and not who.covers(ward):
        raise forbidden(f"this credential does not cover ward {ward!r}")
    limit = whole_number(q.get("limit", str(AUDIT_LIMIT_DEFAULT)))
    if limit is None or not 1 <= limit <= AUDIT_LIMIT_MAX:
        raise ApiError(400, "bad_limit", f"limit must be a whole number from 1 to {AUDIT_LIMIT_MAX}", "limit")
    fmt = q.get("format", "json")
    if fmt not in ("json", "csv", "fhir"):
        raise ApiError(400, "bad_format", "format must be json, csv or fhir", "format")
    records = await wb(request).store.audit(
        ward=ward,
        wards=who.wards,
        bed=q.get("bed") or None,
        since=_time_param(request, "since"),
        until=_time_param(request, "until"),
        limit=limit,
        person=q.get("person") or None,
    )
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(AUDIT_CSV_COLUMNS)
        for rec in records:
            writer.writerow(
                orjson.dumps(rec[c]).decode() if isinstance(rec[c], (dict, list)) else rec[c] for c in AUDIT_CSV_COLUMNS
            )
        return Response(
            out.getvalue(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="audit.csv"'},
        )
    if fmt == "fhir":
        return JSONResponse(fhir_audit.bundle(records), media_type="application/fhir+json")
    return JSONResponse(records)


def _profile_body(view: WardView) -> DisplayProfile:
    current = view.display_fields if view.display_fields is not None else redact.DEFAULT_DISPLAY_FIELDS
    return {
        "fields": sorted(current),
        "custom": view.display_fields is not None,
        "available": sorted(redact.DISPLAYABLE),
        "default": sorted(redact.DEFAULT_DISPLAY_FIELDS),
    }


async def display_profile(request: Request) -> Response:
    """Which patient fields this ward's public boards show. Ward managers read it; admins change it."""
    who, ch = await _readable_ward(request)
    if not who.at_least("ward_manager"):
        raise forbidden("the display profile is for ward managers and admins")
    if request.method == "PUT":
        if not who.at_least("admin"):
            raise forbidden("only an admin may change what a public board shows")
        profile = parse_display_profile(await read_json(request))
        state = wb(request)
        written = await state.ingest.submit(
            WriteRequest(ch.view.id, None, profile, request_actor(who, request), request_id=_request_id(request))
        )
        await ch.wait_for(written.seq, state.settings.own_write_wait_secs)
    return JSONResponse(_profile_body(ch.view))
