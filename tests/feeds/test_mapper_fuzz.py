"""The message reader and mapper never crash: any text, and messages with any field values, end in a
mapping or one of the refusals the feed answers (MessageError, LocationError, DomainError, Unsupported)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from whiteboard.errors import DomainError
from whiteboard.feeds import adt
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
