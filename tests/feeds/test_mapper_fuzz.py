"""The message reader and mapper never crash: any text, and messages with any field values, end in a
mapping or one of the refusals the feed answers (MessageError, LocationError, DomainError, Unsupported,
and for ORU^R01 VitalsError)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from whiteboard.errors import DomainError
from whiteboard.feeds import adt, oru, vitals
from whiteboard.feeds.ack import Code, Outcome, acks
from whiteboard.feeds.hl7_message import MessageError, parse
from whiteboard.feeds.locations import LocationError, LocationMap

ZONE = ZoneInfo("Europe/London")
REFUSALS = (MessageError, LocationError, DomainError, adt.Unsupported)
MAP = LocationMap.from_json({"wards": {"AMU": "ward-1"}, "beds": {"AMU^BAY1^3": {"ward": "ward-1", "bed": "B03"}}})

text = st.text(st.characters(codec="utf-8", exclude_characters="\x0b\x1c"), max_size=40)
field = st.one_of(text, st.sampled_from(["", "^", "~", "&", "\\", "^^^", "20261301", "19991231", "9434765919"]))


def check(message: str) -> None:
    try:
        msg = parse(message, ZONE)
    except MessageError as exc:
        assert acks(None, Outcome(Code.MALFORMED, str(exc)))  # still answered
        return
    for locations in (LocationMap(), MAP):
        try:
            adt.plan(msg, locations)
        except REFUSALS:
            pass
    for outcome in (Outcome(Code.ACCEPTED), Outcome(Code.UNKNOWN_KEY, "x|y^z")):
        for ack in acks(msg, outcome):
            assert parse(ack, ZONE).control_id  # every ACK is itself readable HL7


@given(st.text(max_size=300))
@settings(max_examples=300, deadline=None)
def test_any_text(message: str) -> None:
    check(message)


@given(
    st.sampled_from(adt.HANDLED + ("A04", "", "ZZZ")),
    st.lists(field, min_size=20, max_size=20),
    st.lists(field, min_size=50, max_size=50),
    st.sampled_from(["", "AL", "NE", "ER", "SU", "XX"]),
    st.sampled_from(["2.3", "2.5.1", "2.8", "", "3"]),
)
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_messages_with_any_fields(event: str, pid: list[str], pv1: list[str], mode: str, version: str) -> None:
    msh = f"MSH|^~\\&|PAS|RXH|WB|RXH|20261201120000||ADT^{event}|C1|P|{version}|||{mode}|{mode}"
    segments = [msh, f"EVN|{event}", "PID|" + "|".join(pid), "PV1|" + "|".join(pv1), "NPU|" + "|".join(pv1[:3])]
    check("\r".join(segments))


obx_value = st.one_of(
    field, st.integers(-1000, 1000).map(str), st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(["A", "C", "V", "P", "U", "248234008", "Alert", "NaN", "1e400", "37.0"]),
)  # fmt: skip


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["NM", "CWE", "ST", "SN", "", "TX"]),
            st.sampled_from([*vitals.CODES, "8462-4", "ZZ1", ""]),
            st.sampled_from(["LN", "L", ""]),
            obx_value,
            st.sampled_from(["/min", "%", "Cel", "[degF]", "mm[Hg]", "L/min", "", "^"]),
            st.sampled_from(["F", "C", "P", "", "X"]),
            st.sampled_from(["", "20261201120000", "20991231000000", "2026130112", "x"]),
        ),
        max_size=12,
    ),
    st.lists(field, min_size=10, max_size=10),
)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_oru_with_any_results(results: list[tuple[str, ...]], pid: list[str]) -> None:
    """Any OBX rows end in a charted set or a refusal the feed answers (AE), never a crash."""
    msh = "MSH|^~\\&|OBS|RXH|WB|RXH|20261201120000||ORU^R01^ORU_R01|C1|P|2.5.1"
    rows = [f"OBX|{n}|{k}|{c}^x^{s}||{v}|{u}|||||{st_}|||{t}" for n, (k, c, s, v, u, st_, t) in enumerate(results)]
    message = "\r".join([msh, "PID|" + "|".join(pid), "PV1|1|I|AMU^BAY1^3", *rows])
    try:
        msg = parse(message, ZONE)
    except MessageError:
        return
    for locations in (LocationMap(), MAP):
        try:
            change = oru.plan(msg, locations, ZONE, dt.datetime.now(dt.UTC))
        except (*REFUSALS, vitals.VitalsError):
            continue
        assert 0 <= change.patch.result.score <= 20  # type: ignore[union-attr]
