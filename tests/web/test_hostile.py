"""An adversarial suite: hypothesis sends hostile bodies, headers, query strings and WebSocket frames to the real
app in-process. Properties: never a 5xx; every 4xx from a JSON endpoint carries the contract's error body; a
refused write leaves the ward exactly as it was in the database; a hostile WebSocket frame closes that one
connection with the contract's code (1003/1008/1009) and a ping is answered.

Runs are bounded and reproducible: a fixed number of examples, derandomized, no example database.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from tests.support import InProcessSite

pytestmark = pytest.mark.parametrize(
    "app_site_settings",
    # Limits that would turn most examples into 429s are raised; the size limits stay as they are.
    [{"write_rate_per_min": 1e6, "write_burst": 100_000, "ws_connect_rate_per_min": 1e6, "ws_connect_burst": 100_000}],
)

BOUNDED = settings(
    max_examples=100,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
WARD = InProcessSite.WARD
BEDS = ["B1", "B2", "B3", "B4", "B9", "", "B1%00", "..", "x" * 300]

# --- strategies ---------------------------------------------------------------------------------------------

# Past Python's 4,300-digit limit for int(): where a client's digits reached int() unbounded, these were a 500.
huge_digits = st.integers(4301, 6000).map(lambda n: "9" * n)
UID = "<uid>"  # replaced by the ward's real uid when sent, so an If-Match gets past the uid check to the number
numbers_as_text = st.one_of(
    huge_digits,
    st.integers(-(10**20), 10**20).map(str),
    st.sampled_from(["²", "٣", "1_0", "0x10", " 5", "5 ", "+5", "-0", "1e3", ""]),
)
any_text = st.one_of(st.text(max_size=40), numbers_as_text, st.text(alphabet="\x00\r\n\t\\\"'<>%&;", max_size=10))
json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**30), 10**30), st.floats(allow_nan=True, allow_infinity=True), any_text
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
patient = st.fixed_dictionaries(
    {},
    optional={
        "name": json_scalars,
        "nhs_number": st.one_of(st.sampled_from(["9434765919", "9434765918", "943 476 5919"]), json_scalars),
        "date_of_birth": st.one_of(st.sampled_from(["1935-03-14", "2999-01-01", "1935-02-30"]), json_scalars),
        "flags": st.one_of(st.lists(st.sampled_from(["falls", "dnacpr", "nope"]), max_size=3), json_values),
        "tasks": json_values,
        "news2": json_values,
        "named_nurse": json_scalars,
    },
)
bed_bodies = st.fixed_dictionaries(
    {},
    optional={
        "status": st.one_of(st.sampled_from(["empty", "occupied", "cleaning", "blocked", "closed"]), json_scalars),
        "notes": st.one_of(st.text(max_size=600), json_scalars),
        "patient": st.one_of(st.none(), patient, json_values),
    },
)


def to_bytes(value: Any) -> bytes:
    return json.dumps(value).encode()  # stdlib: also writes NaN, Infinity and big integers, which orjson refuses


bodies = st.one_of(
    bed_bodies.map(to_bytes),
    json_values.map(to_bytes),
    st.binary(max_size=300),
    st.sampled_from([b"", b"{", b"[]", b"null", b'{"status": "empty"}' * 2, b"\xef\xbb\xbf{}", b"{}" + b" " * 5000]),
)
header_text = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=60)
header_values = st.one_of(header_text, huge_digits)
etags = st.one_of(
    huge_digits.map(lambda d: f'"{d}.{UID}"'),
    huge_digits.map(lambda d: f'W/"{d}.{UID}", "1.{UID}"'),
    st.integers(0, 10**6).map(lambda n: f'"{n}.{UID}"'),
    header_values,
    st.sampled_from(["*", '""', '"."', f'".{UID}"', f'"-1.{UID}"', f'"1.{UID}x"']),
)
optional_headers = {
    "If-None-Match": st.one_of(header_values, etags),
    "Content-Type": st.one_of(header_text, st.just("application/json; charset=latin-1")),
    "X-Request-Id": st.one_of(header_text, st.just("r" * 500)),
    "X-Whiteboard-Client": header_text,
    "Origin": st.one_of(header_text, st.just("null")),
    "Accept": header_text,
    "Range": header_text,
}


def as_bytes(headers: dict[str, str]) -> dict[str, bytes]:
    return {k: v.encode("latin-1") for k, v in headers.items()}  # any Latin-1 octet, as a raw client could send


hostile_headers = st.fixed_dictionaries({}, optional={"If-Match": etags, **optional_headers}).map(as_bytes)
with_if_match = st.fixed_dictionaries({"If-Match": etags}, optional=optional_headers).map(as_bytes)


# --- helpers ------------------------------------------------------------------------------------------------


def committed(s: InProcessSite) -> Any:
    """The ward as the database holds it (sequence and beds), not as any cache or view has it."""
    state: Any = s.run(s.app.state.wb.store.load_ward(WARD))  # type: ignore[attr-defined]
    return state.seq, state.beds


def assert_answer(r: Any, *, json_endpoint: bool = True) -> None:
    assert r.status_code < 500, (r.status_code, r.text[:300])
    if json_endpoint and 400 <= r.status_code < 500 and r.status_code != 499:
        body = r.json()
        assert set(body) == {"error"}, body
        error = body["error"]
        assert isinstance(error.get("code"), str) and error["code"], body
        assert isinstance(error.get("message"), str) and error["message"], body
        assert set(error) <= {"code", "message", "field"}, body


def with_uid(s: InProcessSite, headers: dict[str, bytes]) -> dict[str, bytes]:
    state: Any = s.run(s.app.state.wb.store.load_ward(WARD))  # type: ignore[attr-defined]
    return {k: v.replace(UID.encode(), state.uid[:8].encode()) for k, v in headers.items()}


def write_and_check(s: InProcessSite, method: str, url: str, body: bytes, headers: dict[str, bytes]) -> None:
    headers = with_uid(s, headers)
    before = committed(s)
    sent: dict[str, Any] = {**s.as_("nurse"), "Content-Type": "application/json", **headers}
    r = s.c.request(method, url, content=body, headers=sent)
    assert_answer(r)
    if r.status_code >= 400:
        assert committed(s) == before, f"a refused write ({r.status_code} {r.text[:200]}) changed the ward"


# --- properties -----------------------------------------------------------------------------------------------


@BOUNDED
@given(body=bodies, headers=hostile_headers, bed=st.sampled_from(BEDS))
def test_hostile_bed_updates_never_fail_or_write_partly(
    app_site: InProcessSite, body: bytes, headers: dict[str, bytes], bed: str
) -> None:
    write_and_check(app_site, "PATCH", f"/api/wards/{WARD}/beds/{bed}", body, headers)


@BOUNDED
@given(
    status=st.sampled_from(["cleaning", "empty", "blocked"]),
    headers=with_if_match,
    bed=st.sampled_from(BEDS[:4]),
)
def test_hostile_headers_on_valid_updates_never_fail_or_write_partly(
    app_site: InProcessSite, status: str, headers: dict[str, bytes], bed: str
) -> None:
    """A body that passes, so the headers (If-Match above all) are what decides."""
    write_and_check(app_site, "PATCH", f"/api/wards/{WARD}/beds/{bed}", to_bytes({"status": status}), headers)


@BOUNDED
@given(body=st.one_of(json_values.map(to_bytes), st.binary(max_size=200)), headers=hostile_headers)
def test_hostile_observations_never_fail_or_write_partly(
    app_site: InProcessSite, body: bytes, headers: dict[str, bytes]
) -> None:
    write_and_check(app_site, "POST", f"/api/wards/{WARD}/beds/B1/observations", body, headers)


moves = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            "to_ward": st.one_of(st.sampled_from([WARD, "ward-quiet", "ward-none"]), json_scalars),
            "to_bed": st.one_of(st.sampled_from(BEDS), json_scalars),
            "to_version": st.one_of(st.integers(-5, 2**64), json_scalars),
            "bed": json_scalars,
        },
    ).map(to_bytes),
    json_values.map(to_bytes),
    st.binary(max_size=100),
)


@BOUNDED
@given(body=moves, headers=with_if_match, bed=st.sampled_from(BEDS), op=st.sampled_from(["transfer", "swap"]))
def test_hostile_moves_never_fail_or_write_partly(
    app_site: InProcessSite, body: bytes, headers: dict[str, bytes], bed: str, op: str
) -> None:
    write_and_check(app_site, "POST", f"/api/wards/{WARD}/beds/{bed}/{op}", body, headers)


@BOUNDED
@given(body=st.one_of(json_values.map(to_bytes), st.binary(max_size=200)), headers=hostile_headers)
def test_hostile_observation_previews_never_fail_or_write(
    app_site: InProcessSite, body: bytes, headers: dict[str, bytes]
) -> None:
    """A preview answers, or refuses, and never writes anything either way."""
    s = app_site
    before = committed(s)
    sent: dict[str, Any] = {**s.as_("nurse"), "Content-Type": "application/json", **with_uid(s, headers)}
    assert_answer(s.c.post(f"/api/wards/{WARD}/beds/B1/observations/preview", content=body, headers=sent))
    assert committed(s) == before


@BOUNDED
@given(
    query=st.dictionaries(st.sampled_from(["since", "limit", "epoch", "x"]), any_text, max_size=3),
    headers=hostile_headers,
)
def test_hostile_event_queries_are_answered(
    app_site: InProcessSite, query: dict[str, str], headers: dict[str, bytes]
) -> None:
    s = app_site
    nurse: dict[str, Any] = {**s.as_("nurse"), **headers}
    display: dict[str, Any] = {**s.as_("display"), **headers}
    assert_answer(s.c.get(f"/api/wards/{WARD}/events", params=query, headers=nurse))
    assert_answer(s.c.get(f"/api/wards/{WARD}", params=query, headers=display))


@BOUNDED
@given(
    query=st.dictionaries(
        st.sampled_from(["limit", "since", "until", "ward", "bed", "person", "format"]), any_text, max_size=4
    )
)
def test_hostile_audit_queries_are_answered(app_site: InProcessSite, query: dict[str, str]) -> None:
    s = app_site
    r = s.c.get("/api/audit", params=query, headers=s.as_("ward_manager"))
    assert_answer(r, json_endpoint=query.get("format") not in ("csv", "fhir"))
    assert_answer(s.c.get("/audit", params=query, headers=s.as_("ward_manager")), json_endpoint=False)


@BOUNDED
@given(
    headers=hostile_headers,
    auth=st.one_of(header_text, huge_digits.map(lambda d: f"Bearer {d}")).map(lambda a: a.encode("latin-1")),
)
def test_hostile_credentials_are_refused_cleanly(
    app_site: InProcessSite, headers: dict[str, bytes], auth: bytes
) -> None:
    s = app_site
    for url in ("/api/wards", f"/api/wards/{WARD}", "/metrics", "/api/ops"):
        sent: dict[str, Any] = {**headers, "Authorization": auth}
        r = s.c.get(url, headers=sent)
        assert_answer(r)
        assert r.status_code in (401, 403), (url, r.status_code)


frames = st.one_of(
    st.just(("text", '{"type": "ping"}')),
    st.tuples(st.just("text"), st.one_of(json_values.map(json.dumps), st.text(max_size=50))),
    st.tuples(st.just("text"), st.integers(4000, 9000).map(lambda n: json.dumps({"type": "ping", "pad": "x" * n}))),
    st.tuples(st.just("bytes"), st.binary(max_size=100)),
)


def expected_close(kind: str, data: str | bytes) -> int | None:
    """The contract's answer to one client frame: None for a ping (answered), else the close code."""
    if kind == "bytes":
        return 1003
    assert isinstance(data, str)
    if len(data.encode()) > 4096:
        return 1009
    try:
        msg = json.loads(data)
    except ValueError:
        return 1008
    if isinstance(msg, dict) and msg.get("type") == "ping":
        return None
    return 1008


@BOUNDED
@given(sent=st.lists(frames, min_size=1, max_size=4))
def test_hostile_websocket_frames_close_only_that_connection(
    app_site: InProcessSite, sent: list[tuple[str, Any]]
) -> None:
    s = app_site
    client: TestClient = s.c
    with client.websocket_connect(f"/ws/wards/{WARD}", headers=s.as_("nurse")) as ws:
        assert ws.receive_json()["type"] == "snapshot"
        for kind, data in sent:
            ws.send_text(data) if kind == "text" else ws.send_bytes(data)
            code = expected_close(kind, data)
            if code is None:
                assert ws.receive_json()["type"] == "heartbeat"
                continue
            with pytest.raises(WebSocketDisconnect) as closed:
                ws.receive_json()
            assert closed.value.code == code, (kind, str(data)[:80])
            break
    # The server still serves everyone else.
    assert s.c.get(f"/api/wards/{WARD}", headers=s.as_("nurse")).status_code == 200
