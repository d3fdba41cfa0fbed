"""Answers: what the server sends. Documented (and typed for the handlers that build them), never validated."""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal, NotRequired

from pydantic import ConfigDict, Field, with_config
from typing_extensions import TypedDict  # pydantic needs this one on Python 3.11

from whiteboard.domain.wire.values import (
    NEWS2_MAX,
    DischargeStatus,
    Epoch,
    Moment,
    Monitoring,
    Offset,
    RedGreen,
    Risk,
    Sex,
    Status,
    TaskKind,
)


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


class Scale2(TypedDict):
    decided_by: str
    decided_at: Moment


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
    spo2_scale_2: Annotated[
        Scale2 | None, Field(description="Who decided this patient's SpO2 is scored on Scale 2, and when.")
    ]
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


class BedRef(TypedDict):
    ward: str
    bed: str


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
    also: NotRequired[
        Annotated[
            dict[str, dict[str, Any]],
            Field(description="A move within the ward: the other bed's changes, by bed id, in this same event."),
        ]
    ]
    to: NotRequired[Annotated[BedRef, Field(description="A transfer to another ward: where the patient went.")]]
    from_: NotRequired[Annotated[BedRef, Field(alias="from", description="A transfer in: where the patient was.")]]
    with_: NotRequired[Annotated[BedRef, Field(alias="with", description="A swap across wards: the other bed.")]]
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


class News2Preview(News2):
    parameters: Annotated[dict[str, int], Field(description="Each Chart 1 parameter's score (0 to 3).")]
    response: Annotated[str, Field(description="The Chart 4 clinical response for the risk band.")]


class ObservationsAnswer(WriteAnswer):
    news2: News2Preview


class ObservationsPreview(TypedDict):
    news2: News2Preview


class MovedTo(TypedDict):
    ward: str
    bed: str
    offset: Annotated[Offset, Field(description="The other ward's offset after the move (this ward's, within one).")]
    version: Annotated[int, Field(ge=0, description="The other bed's version after the move.")]
    event: NotRequired[Annotated[Event, Field(description="The other ward's event (a move across wards only).")]]


class MoveAnswer(WriteAnswer):
    to: MovedTo


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
    ping_ms: NotRequired[float]  # when it answered
    error: NotRequired[str]  # when it did not


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


class LoadTestRecord(TypedDict):
    """A stored load-test result, as `GET /api/ops/load-tests` lists them (newest run first)."""

    id: int
    finished_at: Moment
    profile: str
    monthly_multiple: float
    thresholds_passed: bool
    requests: int
    failures: int
    p99_ms: float
    report_name: str | None
    recorded_at: Moment
    recorded_by: str


ANSWERS: Final = (
    Error,
    WardSummary,
    WardSnapshot,
    EventsPage,
    WriteAnswer,
    ObservationsAnswer,
    ObservationsPreview,
    MoveAnswer,
    DisplayProfile,
    AuditRecord,
    Readiness,
    OpsFigures,
    LoadTestRecord,
)
