"""The values the wire models are made of: vocabularies, limits, and the checks that belong to a value.

Each check raises a pydantic error whose type is the contract's error code (`bad_character`, `invalid`,
`wrong_type`), so `refusal` passes it through unchanged. The NHS number's check digit and the year ranges are
here because no JSON Schema can state them; the schema carries a description (and a pattern where one helps).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Final, Literal

from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

from whiteboard.domain.clock import iso
from whiteboard.domain.offsets import OFFSET_RE
from whiteboard.domain.patient import nhs_number_valid

# --- the vocabularies (DOMAIN.md) ---

Status = Literal["empty", "occupied", "cleaning", "blocked", "closed"]
Flag = Literal[
    "falls", "pressure_damage", "nil_by_mouth", "nutrition", "dementia", "frailty", "learning_disability", "allergy",
    "infection", "isolation", "dnacpr", "similar_name", "on_leave",
]  # fmt: skip
TaskKind = Literal["bloods", "tests", "results", "therapy", "tto", "transport", "porter", "other"]
DischargeStatus = Literal["not_planned", "planned", "awaiting_tto", "awaiting_transport", "ready"]
Sex = Literal["F", "M", "X", "U"]
RedGreen = Literal["red", "green"]
Consciousness = Literal["A", "C", "V", "P", "U"]
Risk = Literal["low", "low-medium", "medium", "high"]
Monitoring = Literal["12-hourly", "4-6-hourly", "hourly", "continuous"]

NEWS2_MAX: Final = 20  # highest possible aggregate (RCP definitions table)
# Vital signs a person can have (and a thermometer can show); outside these, a typo or a unit mix-up.
OBSERVATION_RANGES: Final[dict[str, tuple[int, int]]] = {
    "respiration_rate": (0, 80),
    "spo2": (50, 100),
    "systolic_bp": (30, 300),
    "pulse": (0, 300),
}
TEMPERATURE_RANGE: Final = (25.0, 45.0)
NOTES_MAX_CHARS: Final = 500
TASKS_MAX: Final = 30
OFFSET_PATTERN: Final = OFFSET_RE.pattern
# Query limits that are not settings: a page of events by default (the ceiling is `Settings.events_page_max`),
# and audit records by default and at most (an export is a CSV or FHIR download of at most this many).
EVENTS_LIMIT_DEFAULT: Final = 100
AUDIT_LIMIT_DEFAULT: Final = 500
AUDIT_LIMIT_MAX: Final = 5000
LOAD_TESTS_LIMIT_DEFAULT: Final = 10
LOAD_TESTS_LIMIT_MAX: Final = 100

# --- value checks that belong to the value (each raises an error whose type is the contract's code) ---


def _no_nul(value: str) -> str:
    # Never typed by a person, and PostgreSQL refuses it in text and JSON (a 503, not a 422).
    if "\x00" in value:
        raise PydanticCustomError("bad_character", "must not contain a NUL character")
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise PydanticCustomError("invalid", "must not be empty")
    return value


def _date(value: str) -> str:
    try:
        parsed = dt.date.fromisoformat(value)
    except ValueError:
        raise PydanticCustomError("wrong_type", "must be a date like 2026-11-22") from None
    if not 1900 <= parsed.year <= 2200:
        raise PydanticCustomError("invalid", "is out of range")
    return parsed.isoformat()


def _datetime(value: str) -> str:
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise PydanticCustomError("wrong_type", "must be a time like 2026-11-22T09:30:00Z") from None
    if parsed.tzinfo is None:
        raise PydanticCustomError("invalid", "needs a UTC offset, e.g. 2026-11-22T09:30:00Z")
    if not 1900 <= parsed.year <= 2200:  # as for dates; also keeps UTC and `next_due` inside datetime's range
        raise PydanticCustomError("invalid", "is out of range")
    return iso(parsed)


def _nhs_number(value: str) -> str:
    digits = value.replace(" ", "")
    if not nhs_number_valid(digits):
        raise PydanticCustomError("invalid", "is not a valid NHS number (10 digits with a correct check digit)")
    return digits


def _unique(flags: list[Flag]) -> list[Flag]:
    return list(dict.fromkeys(flags))


_NO_NUL: Final = "^[^\\u0000]*$"
_NOT_BLANK: Final = "^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$"


def _text(max_len: int) -> Any:
    """Field metadata for free text of at most `max_len` characters (the NUL check is `_NUL`: a pattern costs
    more in pydantic-core than `in` does in Python)."""
    return Field(max_length=max_len, json_schema_extra={"pattern": _NO_NUL})


def _name(max_len: int) -> Any:
    """Field metadata for text that must hold something besides spaces."""
    return Field(min_length=1, max_length=max_len, json_schema_extra={"pattern": _NOT_BLANK})


_NUL: Final = AfterValidator(_no_nul)
_BLANK: Final = AfterValidator(_not_blank)
Text8 = Annotated[str, _text(8), _NUL]
Text100 = Annotated[str, _text(100), _NUL]
Text200 = Annotated[str, _text(200), _NUL]
Notes = Annotated[str, _text(NOTES_MAX_CHARS), _NUL]
Name40 = Annotated[str, _name(40), _NUL, _BLANK]
Name100 = Annotated[str, _name(100), _NUL, _BLANK]
Flags = Annotated[list[Flag], AfterValidator(_unique)]

DateText = Annotated[
    str,
    AfterValidator(_date),
    Field(json_schema_extra={"format": "date", "description": "A date like 2026-11-22 (years 1900 to 2200)."}),
]
Timestamp = Annotated[
    str,
    AfterValidator(_datetime),
    Field(
        json_schema_extra={
            "format": "date-time",
            "description": "A time with a UTC offset, like 2026-11-22T09:30:00Z (years 1900 to 2200).",
        }
    ),
]
NhsNumber = Annotated[
    str,
    AfterValidator(_nhs_number),
    Field(
        json_schema_extra={
            "pattern": r"^( *[0-9]){10} *$",
            "description": "10 digits with a valid modulus-11 check digit; spaces are ignored.",
        }
    ),
]
Offset = Annotated[str, Field(pattern=OFFSET_PATTERN, examples=["0-0", "42-0"])]
Epoch = Annotated[str, Field(description="Names one incarnation of a ward's event log.")]
Moment = Annotated[str, Field(json_schema_extra={"format": "date-time"})]
