"""HL7 v2 acknowledgements: original mode (one ACK: AA, AE, AR) and enhanced mode (an accept ACK CA/CE/CR as
MSH-15 asks, then an application ACK AA/AE/AR as MSH-16 asks), with the reason in MSA-3 and ERR.

Codes (HL7 table 0008): AA/CA accepted; AE/CE error in the message (a location the map does not name, a
discharge for a patient not on the bed): resending it unchanged fails again; AR/CR rejected for a reason
that is not the message's (unsupported type or version, the database unavailable): it may be sent again.
"""

from __future__ import annotations

import datetime as dt
import enum
import itertools
import secrets
from dataclasses import dataclass
from typing import Final

from whiteboard.feeds.hl7_message import AdtMessage

APP: Final = "WHITEBOARD"
_COUNTER = itertools.count(1)
_PREFIX: Final = secrets.token_hex(3).upper()


class Code(enum.Enum):
    """An outcome, with its HL7 table 0357 error code (0 for success)."""

    ACCEPTED = ("A", "0", "Message accepted")
    UNKNOWN_KEY = ("E", "204", "Unknown key identifier")  # a location, ward, bed or patient not found
    BAD_VALUE = ("E", "207", "Application internal error")  # a value the board refuses (states, identity)
    REQUIRED_MISSING = ("E", "101", "Required field missing")
    DATA_TYPE = ("E", "102", "Data type error")
    MALFORMED = ("R", "102", "Data type error")  # the message cannot be read at all
    UNSUPPORTED_EVENT = ("R", "201", "Unsupported event code")
    UNSUPPORTED_VERSION = ("R", "203", "Unsupported version id")
    REJECTED = ("R", "207", "Application internal error")  # unavailable, too large, a sender not allowed

    @property
    def letter(self) -> str:
        return self.value[0]


@dataclass(frozen=True, slots=True)
class Outcome:
    code: Code
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.code is Code.ACCEPTED


def _now_ts() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y%m%d%H%M%S+0000")


def _control_id() -> str:
    return f"WB{_PREFIX}{next(_COUNTER):08d}"


def _escape(text: str) -> str:
    """HL7 escapes for the standard separators (the ACK always uses `|^~\\&`)."""
    out = text.replace("\\", "\\E\\").replace("|", "\\F\\").replace("^", "\\S\\").replace("~", "\\R\\")
    return out.replace("&", "\\T\\").replace("\r", " ").replace("\n", " ")[:1000]


def _ack(msg: AdtMessage | None, code: str, outcome: Outcome, control_id: str | None = None) -> str:
    def of(name: str) -> str:
        return _escape(getattr(msg, name)) if msg is not None else ""

    msh = [
        "MSH", "^~\\&", APP, of("receiving_facility"), of("sending_app"), of("sending_facility"), _now_ts(), "",
        f"ACK^{of('event')}^ACK", control_id or _control_id(), of("processing_id") or "P", of("version") or "2.5.1",
    ]  # fmt: skip
    msa = ["MSA", code, of("control_id"), _escape(outcome.reason)]
    segments = ["|".join(msh), "|".join(msa)]
    if not outcome.ok:
        _, number, text = outcome.code.value
        # ERR-3 the HL7 error code (table 0357), ERR-4 severity E, ERR-8 the user message (v2.5 layout).
        segments.append("|".join(["ERR", "", "", f"{number}^{_escape(text)}^HL70357", "E", "", "", "",
                                  _escape(outcome.reason)]))  # fmt: skip
    return "\r".join(segments) + "\r"


def _wanted(condition: str, ok: bool) -> bool:
    """MSH-15/16 conditions (HL7 table 0155): AL always, NE never, ER on error only, SU on success only."""
    return condition == "AL" or (condition == "ER" and not ok) or (condition == "SU" and ok) or condition == ""


def acks(msg: AdtMessage | None, outcome: Outcome) -> tuple[str, ...]:
    """The ACK messages to send for a message (none, one or two), in order."""
    if msg is None or not msg.enhanced:
        return (_ack(msg, "A" + outcome.code.letter, outcome),)
    out: list[str] = []
    # Accept (commit) ACK: CA once the message was judged by the board's rules (applied and committed, or
    # refused with nothing written: the application ACK says which); CR for a message refused before that
    # (unreadable, unsupported, too large, the database unavailable), which may be sent again.
    committed = outcome.code.letter != "R"
    accept = Outcome(Code.ACCEPTED) if committed else outcome
    if msg.accept_ack and _wanted(msg.accept_ack, accept.ok):
        out.append(_ack(msg, "C" + accept.code.letter, accept))
    if committed and msg.app_ack and _wanted(msg.app_ack, outcome.ok):
        out.append(_ack(msg, "A" + outcome.code.letter, outcome))
    return tuple(out)
