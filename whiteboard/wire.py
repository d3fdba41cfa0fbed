"""Every JSON body on the wire, once, as a typed model: what requests may say and what answers hold.

The models are `TypedDict`s validated by pydantic (strict: no coercion, unknown fields refused). A
validated body is a plain dict holding exactly the keys the client sent, so a patient update merges as it
always has, and no model objects are built on the write path. The OpenAPI components are derived from the
same models (`components`), so the document cannot drift from the parser. What no schema can say (the NHS
number's check digit, a red score under 3, a patient on a closed bed, an identity change on an occupied
bed) is checked by the rules in `domain`, after parsing; the check digit and the date ranges run as
validators here because they belong to the value itself.

Validation errors become the contract's error body in `refusal`, with the codes and fields the hand-written
parser used: `wrong_type`, `too_long`, `unknown_value`, `unknown_field`, `bad_character`, `invalid`.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Final, Literal, NotRequired, Required

from pydantic import AfterValidator, ConfigDict, Field, TypeAdapter, ValidationError, with_config
from pydantic_core import ErrorDetails, PydanticCustomError
from typing_extensions import TypedDict  # pydantic needs this one on Python 3.11

from whiteboard import domain, news2
from whiteboard.domain import _MISSING, BedPatch, iso, nhs_number_valid, utc_now
from whiteboard.errors import DomainError

JSONSchema = dict[str, Any]

# --- the vocabularies (DOMAIN.md) ---

Status = Literal["empty", "occupied", "cleaning", "blocked", "closed"]
Flag = Literal[
    "falls", "pressure_damage", "nil_by_mouth", "nutrition", "dementia", "frailty", "learning_disability", "allergy",
    "infection", "isolation", "dnacpr", "similar_name",
]  # fmt: skip
TaskKind = Literal["bloods", "tests", "results", "therapy", "tto", "transport", "porter", "other"]
DischargeStatus = Literal["not_planned", "planned", "awaiting_tto", "awaiting_transport", "ready"]
Sex = Literal["F", "M", "X", "U"]
RedGreen = Literal["red", "green"]
Consciousness = Literal["A", "C", "V", "P", "U"]
Risk = Literal["low", "low-medium", "medium", "high"]
Monitoring = Literal["12-hourly", "4-6-hourly", "hourly", "continuous"]

NOTES_MAX_CHARS: Final = 500
TASKS_MAX: Final = 30
NEWS2_MAX: Final = 20
OFFSET_PATTERN: Final = r"^(0|[1-9][0-9]{0,18})-(0|[1-9][0-9]{0,18})$"
# Query limits that are not settings: a page of events by default (the ceiling is `Settings.events_page_max`),
# and audit records by default and at most (an export is a CSV or FHIR download of at most this many).
EVENTS_LIMIT_DEFAULT: Final = 100
AUDIT_LIMIT_DEFAULT: Final = 500
AUDIT_LIMIT_MAX: Final = 5000

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
    """Field metadata for free text of at most `max_len` characters (the NUL check is `_NUL`)."""
    return Field(max_length=max_len, json_schema_extra={"pattern": _NO_NUL})


def _name(max_len: int) -> Any:
    """Field metadata for text that must hold something besides spaces."""
    return Field(min_length=1, max_length=max_len, json_schema_extra={"pattern": _NOT_BLANK})


_NUL: Final = AfterValidator(_no_nul)
_BLANK: Final = AfterValidator(_not_blank)

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

_STRICT: Final = ConfigDict(strict=True, extra="forbid")

# --- request bodies ---


@with_config(
    ConfigDict(
        strict=True,
        extra="forbid",
        json_schema_extra={
            "description": "Task ids are unique within the list (default `t1`, `t2`, ... by position).",
        },
    )
)
class TaskInput(TypedDict, total=False):
    id: Annotated[str, _name(40), _NUL, _BLANK]
    kind: TaskKind
    text: Annotated[str, _text(200), _NUL]
    done: bool


@with_config(
    ConfigDict(
        strict=True,
        extra="forbid",
        json_schema_extra={
            "description": "A bare NEWS2 score (risk and next-due time are computed). A red score needs score >= 3.",
            # A red score (3 in one parameter) means the aggregate is at least 3 (checked by `domain`).
            "if": {"properties": {"red_score": {"const": True}}, "required": ["red_score"]},
            "then": {"properties": {"score": {"minimum": 3}}},
        },
    )
)
class News2Input(TypedDict, total=False):
    score: Required[Annotated[int, Field(ge=0, le=NEWS2_MAX)]]
    red_score: bool
    recorded_at: Timestamp | None


@with_config(
    ConfigDict(
        strict=True,
        extra="forbid",
        json_schema_extra={
            "description": "Patient fields to set (merged into the current patient); null, not an object, discharges."
        },
    )
)
class PatientUpdate(TypedDict, total=False):
    name: Annotated[
        str, _name(100), _NUL, _BLANK, Field(description="Full name; required to admit a patient. Never on a display.")
    ]
    initials: Annotated[
        str, _text(8), _NUL, Field(description="Derived from the name when a name is set without initials.")
    ]
    nhs_number: NhsNumber | None
    date_of_birth: DateText | None
    age: Annotated[int, Field(ge=0, le=130)] | None
    sex: Sex | None
    consultant: Annotated[str, _text(100), _NUL] | None
    named_nurse: Annotated[str, _text(100), _NUL] | None
    admitted_at: Timestamp | None
    edd: Annotated[DateText | None, Field(description="Expected discharge date (years 1900 to 2200).")]
    medically_optimised: bool
    discharge_pathway: Annotated[int, Field(ge=0, le=3)] | None
    discharge_status: DischargeStatus
    red_green: RedGreen
    news2: News2Input | None
    flags: Annotated[list[Flag], AfterValidator(_unique)]
    tasks: Annotated[list[TaskInput], Field(max_length=TASKS_MAX)]


@with_config(
    ConfigDict(
        strict=True,
        extra="forbid",
        json_schema_extra={
            "description": (
                "The bed fields to change; at least one. Unknown fields are a 422 naming the field. On an occupied "
                "bed, `patient` fields merge into the current patient, but the patient's identity (`name`, "
                "`nhs_number`, `date_of_birth`) cannot change that way: a different value is a 422 "
                "`patient_identity_change` (discharge or transfer the current patient first). Filling in one that "
                'was never known, or resending the same value, is fine. `"admit": true` replaces the whole '
                "patient record with the one sent (a new admission; nothing of the previous patient is kept)."
            ),
            "minProperties": 1,
            "if": {"properties": {"admit": {"const": True}}, "required": ["admit"]},
            "then": {"properties": {"patient": {"type": "object", "required": ["name"]}}, "required": ["patient"]},
        },
    )
)
class BedUpdate(TypedDict, total=False):
    status: Status
    notes: Annotated[str, _text(NOTES_MAX_CHARS), _NUL, Field(description="Staff views only: never sent to a display.")]
    patient: PatientUpdate | None
    admit: Annotated[
        bool,
        Field(
            description="true: `patient` is a new admission that replaces whatever record is on the bed; "
            "it needs `patient.name`."
        ),
    ]


@with_config(
    ConfigDict(
        strict=True,
        extra="forbid",
        json_schema_extra={"description": "One set of vital signs; every field is required (NEWS2, RCP 2017)."},
    )
)
class Observations(TypedDict):
    respiration_rate: Annotated[int, Field(ge=0, le=80)]
    spo2: Annotated[int, Field(ge=50, le=100)]
    spo2_scale: Annotated[
        int, Field(ge=1, le=2, json_schema_extra={"enum": [1, 2]}, description="2 only when a clinician prescribed it.")
    ]
    on_oxygen: bool
    systolic_bp: Annotated[int, Field(ge=30, le=300)]
    pulse: Annotated[int, Field(ge=0, le=300)]
    consciousness: Consciousness
    temperature: Annotated[float, Field(ge=25.0, le=45.0, allow_inf_nan=False, description="Degrees Celsius.")]


@with_config(
    ConfigDict(
        strict=True,
        extra="forbid",
        json_schema_extra={
            "description": "The patient fields this ward's public boards show; null restores the safe default."
        },
    )
)
class DisplayProfileUpdate(TypedDict):
    # The allowed names are the privacy filter's (`redact`); `components` writes them into the schema.
    fields: list[str] | None


# --- answers (documented, not validated: the server builds them) ---


class ErrorDetail(TypedDict):
    code: Annotated[str, Field(min_length=1, description="Stable and machine-readable.")]
    message: Annotated[str, Field(description="For people: what went wrong and what to do.")]
    field: NotRequired[Annotated[str, Field(description="The request field at fault, when there is one.")]]


@with_config(
    ConfigDict(json_schema_extra={"description": 'Every error answer: `{"error": {"code", "message", "field"?}}`.'})
)
class Error(TypedDict):
    error: ErrorDetail


class WardSummary(TypedDict):
    id: str
    name: str
    beds: Annotated[int, Field(ge=0)]


class News2(TypedDict):
    score: Annotated[int, Field(ge=0, le=NEWS2_MAX)]
    red_score: bool
    risk: Risk
    monitoring: NotRequired[Monitoring]
    recorded_at: NotRequired[Moment]
    next_due: Moment


class Task(TypedDict):
    id: str
    kind: TaskKind
    text: str
    done: bool


@with_config(
    ConfigDict(
        json_schema_extra={
            "description": (
                "Staff see the whole record. A `display` credential sees only its ward's display profile: never "
                "`name`, `nhs_number`, `date_of_birth`, `tasks` or the `dnacpr` flag; `tasks_pending` counts open "
                "tasks."
            )
        }
    )
)
class Patient(TypedDict, total=False):
    name: str
    initials: str
    nhs_number: str | None
    date_of_birth: str | None
    age: int | None
    sex: Sex | None
    consultant: str | None
    named_nurse: str | None
    admitted_at: str | None
    edd: str | None
    medically_optimised: bool
    discharge_pathway: int | None
    discharge_status: DischargeStatus
    red_green: RedGreen
    news2: News2 | None
    flags: list[str]
    tasks: list[Task]
    tasks_pending: Annotated[int, Field(ge=0)]


class Bed(TypedDict):
    id: str
    bay: NotRequired[str | None]
    status: Status
    notes: NotRequired[Annotated[str, Field(description="Staff views only.")]]
    patient: Patient | None
    updated_at: NotRequired[str | None]
    version: NotRequired[
        Annotated[
            int,
            Field(ge=0, description='The bed\'s version (the ward position of its last change): `If-Match: "bed-N"`.'),
        ]
    ]
    similar_name: NotRequired[
        Annotated[
            bool,
            Field(
                description="Another patient on this ward shares this patient's initials or surname (worked out "
                "from the names on the server; reveals none, so a display sees it too)."
            ),
        ]
    ]


class WardName(TypedDict):
    id: str
    name: str


class WardSnapshot(TypedDict):
    ward: WardName
    epoch: Epoch
    offset: Offset
    beds: list[Bed]


@with_config(
    ConfigDict(
        json_schema_extra={"description": "`changes` holds the new values, filtered by role exactly like the snapshot."}
    )
)
class Event(TypedDict):
    kind: Annotated[
        str, Field(examples=["bed.updated", "patient.admitted", "patient.transferred", "patient.discharged"])
    ]
    ward: str
    bed: NotRequired[str | None]
    changes: Annotated[dict[str, Any], Field(description="For a bed, also its new `version` and `updated_at`.")]
    similar_name: NotRequired[
        Annotated[
            dict[str, bool],
            Field(description="Beds (this one or others) whose similar-name warning this change turned on or off."),
        ]
    ]
    at: Moment
    by: NotRequired[str]


class PagedEvent(TypedDict):
    offset: Offset
    event: Event


class EventsPage(TypedDict):
    epoch: Epoch
    events: list[PagedEvent]
    next: Offset


@with_config(
    ConfigDict(
        json_schema_extra={
            "description": "`event` is null when the update changed nothing (then `offset` is the ward's current "
            "one). `version` is the bed's version after the write (the ETag header is its bed ETag)."
        }
    )
)
class WriteAnswer(TypedDict):
    offset: Offset
    event: Event | None
    version: Annotated[int, Field(ge=0)]


class ObservationsAnswer(WriteAnswer):
    news2: News2


class DisplayProfile(TypedDict):
    fields: list[str]
    custom: bool
    available: list[str]
    default: list[str]


class AuditRecord(TypedDict):
    id: int
    at: Moment
    actor: str
    credential_id: NotRequired[str | None]
    role: NotRequired[str]
    source: NotRequired[str]
    action: str
    ward: NotRequired[str | None]
    bed: NotRequired[str | None]
    offset: NotRequired[Offset | None]
    before: NotRequired[Any]
    after: NotRequired[Any]
    request_id: NotRequired[str | None]
    hash: NotRequired[str]
    prev_hash: NotRequired[str]


class Check(TypedDict):
    backend: str
    status: Literal["ok", "down"]
    error: NotRequired[str]


class Checks(TypedDict):
    database: Check
    eventlog: Check


class Readiness(TypedDict):
    status: Literal["ready", "unavailable"]
    checks: Checks
    error: NotRequired[ErrorDetail]


class Connections(TypedDict):
    total: int
    by_role: dict[str, int]
    wards: list[dict[str, Any]]


class OpsHealth(TypedDict):
    database: dict[str, Any]
    eventlog: dict[str, Any]


class OpsFigures(TypedDict):
    at: Moment
    pid: NotRequired[int]
    uptime_secs: NotRequired[float]
    connections: Connections
    rates: dict[str, Any]
    totals: dict[str, Any]
    event_log_lag_secs: NotRequired[float]
    health: OpsHealth
    process: NotRequired[dict[str, Any]]


REQUESTS: Final = (BedUpdate, Observations, DisplayProfileUpdate)
ANSWERS: Final = (
    Error, WardSummary, WardSnapshot, EventsPage, WriteAnswer, ObservationsAnswer, DisplayProfile, AuditRecord,
    Readiness, OpsFigures,
)  # fmt: skip

# --- parsing: validated bodies, and validation errors as the contract's refusals ---

BED_UPDATE: Final = TypeAdapter(BedUpdate)
OBSERVATIONS: Final = TypeAdapter(Observations)
DISPLAY_PROFILE_UPDATE: Final = TypeAdapter(DisplayProfileUpdate)

_CODES: Final = {
    "extra_forbidden": "unknown_field",
    "string_too_long": "too_long",
    "too_long": "too_long",
    "literal_error": "unknown_value",
    "missing": "invalid",
    "string_too_short": "invalid",
}
_EXPECTED: Final = {
    "string_type": "a string",
    "bool_type": "true or false",
    "int_type": "a whole number",
    "float_type": "a number",
    "finite_number": "a finite number",
    "list_type": "a list",
    "dict_type": "an object",
    "greater_than_equal": "a whole number of at least {ge}",
    "less_than_equal": "a whole number of at most {le}",
}
# Where a list's item is at fault, the hand-written parser named the list (flags) or the item (tasks[0]).
_NAMED_BY_LIST: Final = frozenset({"flags"})


def field_name(loc: tuple[int | str, ...]) -> str | None:
    """`('patient', 'tasks', 0, 'kind')` → `patient.tasks[0].kind`; `()` (the body itself) → None."""
    out = ""
    for i, part in enumerate(loc):
        if isinstance(part, int):
            if loc[i - 1] in _NAMED_BY_LIST:
                break
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out or None


def _position(err: ErrorDetails, body: Any) -> tuple[tuple[int, ...], str]:
    """Where in the body an error sits: at its level, unknown fields first, then missing ones (by name), then
    the fields in the order they were sent: the order the hand-written parsers checked them in."""
    loc = err["loc"]
    at: list[int] = []
    node = body
    for depth, part in enumerate(loc):
        if depth == len(loc) - 1 and err["type"] in ("extra_forbidden", "missing"):
            at.append(-2 if err["type"] == "extra_forbidden" else -1)
        elif isinstance(node, dict) and part in node:
            at.append(list(node).index(part))
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            at.append(part)
            node = node[part]
        else:
            at.append(1 << 30)
    return tuple(at), str(loc)


def first_error(exc: ValidationError, body: Any) -> ErrorDetails:
    """The error a person should fix first (see `_position`)."""
    return min(exc.errors(include_url=False), key=lambda e: _position(e, body))


def refusal(exc: ValidationError, body: Any, *, code: str | None = None, field: str | None = None) -> DomainError:
    """The contract's 422 for a body the model refuses. `code`/`field` fix them for bodies that always used one."""
    err = first_error(exc, body)
    where = field_name(err["loc"])
    kind = err["type"]
    ctx = err.get("ctx") or {}
    if kind == "extra_forbidden":
        name = err["loc"][-1]
        within = where.rsplit(".", 1)[0] if where and "." in where else None
        message = f"unknown field {name!r}" + (f" in {within}" if within else "")
    elif kind in _EXPECTED:
        message = f"{where or 'the body'} must be {_EXPECTED[kind].format(**ctx)}"
    elif kind == "literal_error":
        message = f"{where} must be one of: {ctx.get('expected', '')}"
    elif kind in ("string_too_long", "too_long"):
        limit = ctx.get("max_length", "")
        message = f"{where} is {len(err['input'])} long; at most {limit} are allowed"
    elif kind == "missing":
        message = f"{where} is required"
    else:
        message = f"{where or 'the body'} {err['msg']}" if kind in _OUR_CODES else f"{where}: {err['msg']}"
    ours = kind if kind in _OUR_CODES else _CODES.get(kind, "wrong_type")
    return DomainError(message, field if field is not None else where, code or ours)


_OUR_CODES: Final = frozenset({"bad_character", "invalid", "wrong_type"})


# --- the OpenAPI components ---


def _tidy(node: Any) -> Any:
    """Pydantic's schema, as a person would write it: no generated titles, no `default: null` on optional keys."""
    if isinstance(node, list):
        return [_tidy(n) for n in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "title" or (key == "default" and value is None):
            continue
        if key in ("properties", "$defs"):
            out[key] = {name: _tidy(schema) for name, schema in value.items()}
        else:
            out[key] = _tidy(value)
    return out


def components(displayable: frozenset[str]) -> dict[str, JSONSchema]:
    """`components.schemas` for every wire model, referenced as `#/components/schemas/NAME`.

    `displayable` is the privacy filter's list of fields a display profile may name."""
    models = [*REQUESTS, *ANSWERS]
    _, defs = TypeAdapter.json_schemas(
        [(m.__name__, "validation", TypeAdapter(m)) for m in models], ref_template="#/components/schemas/{model}"
    )
    schemas: dict[str, JSONSchema] = _tidy(defs.get("$defs", {}))
    fields = schemas["DisplayProfileUpdate"]["properties"]["fields"]
    fields["anyOf"][0]["items"] = {"enum": sorted(displayable)}
    return schemas


# --- parsers (phase 1: beside the hand-written ones in `domain`, which they replace) ---


def parse_patch(body: Any) -> BedPatch:
    """A bed update, checked for shape and types (no state yet): 422 naming the first bad field."""
    try:
        data = BED_UPDATE.validate_python(body)
    except ValidationError as exc:
        raise refusal(exc, body) from None
    if not data:
        raise DomainError("the update is empty; send at least one of status, notes, patient", None, "empty")
    admit = data.get("admit", False)
    patient: Any = _MISSING
    if "patient" in data:
        raw = data["patient"]
        patient = None if raw is None else _patient(raw)
    if admit:
        if not isinstance(patient, dict):
            raise DomainError('"admit": true needs the new patient\'s record in patient', "patient", "missing")
        if "name" not in patient:
            raise DomainError("admitting a patient needs at least their name", "patient.name", "missing")
    return BedPatch(status=data.get("status"), notes=data.get("notes"), patient=patient, admit=admit)


def _patient(fields: PatientUpdate) -> dict[str, Any]:
    """The sent patient fields as stored: tasks numbered and filled in, a bare NEWS2 score classified."""
    out: dict[str, Any] = dict(fields)
    if "tasks" in fields:
        out["tasks"] = _tasks(fields["tasks"])
    raw = fields.get("news2")
    if raw is not None:
        red = raw.get("red_score", False)
        if red and raw["score"] < 3:
            raise DomainError(
                "a red score (3 in one parameter) means the aggregate is at least 3", "patient.news2.red_score"
            )
        recorded = raw.get("recorded_at")
        at = dt.datetime.fromisoformat(recorded) if recorded is not None else utc_now()
        out["news2"] = news2.to_json(news2.result_from_score(raw["score"], red), at)
    return out


def _tasks(tasks: list[TaskInput]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, task in enumerate(tasks):
        task_id = task.get("id", f"t{i + 1}")
        if task_id in seen:
            raise DomainError(f"task id {task_id!r} is used twice", f"patient.tasks[{i}].id")
        seen.add(task_id)
        out.append(
            {
                "id": task_id,
                "kind": task.get("kind", "other"),
                "text": task.get("text", ""),
                "done": task.get("done", False),
            }
        )
    return out


def parse_observations(body: Any) -> news2.Observations:
    """One set of vital signs; every refusal is `invalid`, naming the field (as `news2` always did)."""
    try:
        obs = OBSERVATIONS.validate_python(body)
    except ValidationError as exc:
        raise refusal(exc, body, code="invalid") from None
    return news2.Observations(
        respiration_rate=obs["respiration_rate"],
        spo2=obs["spo2"],
        spo2_scale=obs["spo2_scale"],
        on_oxygen=obs["on_oxygen"],
        systolic_bp=obs["systolic_bp"],
        pulse=obs["pulse"],
        consciousness=obs["consciousness"],
        temperature=float(obs["temperature"]),
    )


def parse_display_profile(body: Any, displayable: frozenset[str], never: frozenset[str]) -> domain.DisplayProfile:
    """A ward's public-board field set; None restores the safe default."""
    try:
        raw = DISPLAY_PROFILE_UPDATE.validate_python(body)["fields"]
    except ValidationError as exc:
        raise refusal(exc, body, code="wrong_type", field="fields") from None
    if raw is None:
        return domain.DisplayProfile(None)
    for name in raw:
        if name in never:
            raise DomainError(
                f"{name!r} identifies the patient or is staff-only: it is never shown on a display",
                "fields",
                "not_displayable",
            )
        if name not in displayable:
            raise DomainError(
                f"unknown field {name!r}; choose from: {', '.join(sorted(displayable))}", "fields", "unknown_value"
            )
    return domain.DisplayProfile(frozenset(raw))
