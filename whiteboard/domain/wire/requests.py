"""Request bodies: what a client may send, validated strictly (no coercion, unknown fields refused).

A validated body is a plain dict holding exactly the keys sent (the models are `TypedDict`s), so a patient
update merges field by field. The rules that need the bed's state run later (`beds.apply_patch`).
"""

from __future__ import annotations

from typing import Annotated, Any, Final, Required

from pydantic import ConfigDict, Field, TypeAdapter, with_config
from typing_extensions import TypedDict  # pydantic needs this one on Python 3.11

from whiteboard.domain.wire.values import (
    NEWS2_MAX,
    OBSERVATION_RANGES,
    TASKS_MAX,
    TEMPERATURE_RANGE,
    Consciousness,
    DateText,
    DischargeStatus,
    Flags,
    Name40,
    Name100,
    NhsNumber,
    Notes,
    RedGreen,
    Sex,
    Status,
    TaskKind,
    Text8,
    Text100,
    Text200,
    Timestamp,
)


def _vital(name: str) -> Any:
    lo, hi = OBSERVATION_RANGES[name]
    return Field(ge=lo, le=hi)


@with_config(
    ConfigDict(
        strict=True,
        extra="forbid",
        json_schema_extra={"description": "Task ids are unique within the list (default `t1`, `t2`, ... by position)."},
    )
)
class TaskInput(TypedDict, total=False):
    id: Name40
    kind: TaskKind
    text: Text200
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
            "description": "A clinician's decision that this patient's SpO2 is scored on Scale 2 (hypercapnic "
            "respiratory failure, target 88-92 %); the server adds `decided_at`. Null: Scale 1."
        },
    )
)
class Scale2Decision(TypedDict):
    decided_by: Annotated[Name100, Field(description="The clinical decision maker who decided it.")]


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
    name: Annotated[Name100, Field(description="Full name; required to admit a patient. Never on a display.")]
    initials: Annotated[Text8, Field(description="Derived from the name when a name is set without initials.")]
    nhs_number: NhsNumber | None
    date_of_birth: DateText | None
    age: Annotated[int, Field(ge=0, le=130)] | None
    sex: Sex | None
    consultant: Text100 | None
    named_nurse: Text100 | None
    admitted_at: Timestamp | None
    edd: Annotated[DateText | None, Field(description="Expected discharge date (years 1900 to 2200).")]
    medically_optimised: bool
    discharge_pathway: Annotated[int, Field(ge=0, le=3)] | None
    discharge_status: DischargeStatus
    red_green: RedGreen
    news2: News2Input | None
    spo2_scale_2: Scale2Decision | None
    flags: Flags
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
    notes: Annotated[
        Notes,
        Field(
            description="Staff views only: never sent to a display. On a bed with a patient, about that patient: "
            "a discharge (or an admit replacing the patient) clears them unless it sends notes, a transfer or swap "
            "moves them with the patient (hazard H60)."
        ),
    ]
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
    respiration_rate: Annotated[int, _vital("respiration_rate")]
    spo2: Annotated[int, _vital("spo2")]
    spo2_scale: Annotated[
        int, Field(ge=1, le=2, json_schema_extra={"enum": [1, 2]}, description="2 only when a clinician prescribed it.")
    ]
    on_oxygen: bool
    systolic_bp: Annotated[int, _vital("systolic_bp")]
    pulse: Annotated[int, _vital("pulse")]
    consciousness: Consciousness
    temperature: Annotated[
        float,
        Field(ge=TEMPERATURE_RANGE[0], le=TEMPERATURE_RANGE[1], allow_inf_nan=False, description="Degrees Celsius."),
    ]


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


@with_config(
    ConfigDict(
        strict=True,
        extra="forbid",
        json_schema_extra={
            "description": (
                "One load-test result (`scripts/loadtest --host` posts its summary); the ops page shows the latest."
            )
        },
    )
)
class LoadTestResult(TypedDict, total=False):
    finished_at: Required[Annotated[Timestamp, Field(description="When the run ended.")]]
    profile: Required[Name40]
    monthly_multiple: Required[
        Annotated[
            float,
            Field(
                ge=0,
                le=1e9,
                allow_inf_nan=False,
                description="Sustained requests/s x seconds in a month, as a multiple of a large trust's 7 million.",
            ),
        ]
    ]
    thresholds_passed: Required[bool]
    requests: Required[Annotated[int, Field(ge=0, le=2**62)]]
    failures: Required[Annotated[int, Field(ge=0, le=2**62)]]
    p99_ms: Required[Annotated[float, Field(ge=0, le=1e9, allow_inf_nan=False)]]
    report_name: Text200 | None


@with_config(
    ConfigDict(
        strict=True,
        extra="forbid",
        json_schema_extra={
            "description": "Where the patient goes (a transfer, HL7 A02) or whose bed this one swaps with (A17)."
        },
    )
)
class BedMove(TypedDict, total=False):
    to_ward: Annotated[Name100, Field(description="The other bed's ward; default: this bed's ward.")]
    to_bed: Required[Annotated[Name40, Field(description="The other bed.")]]
    to_version: Annotated[
        int,
        Field(
            ge=0,
            le=2**62,
            description="The other bed's `version` as the client saw it: 412 when that bed changed since "
            "(the path bed's own version goes in If-Match).",
        ),
    ]


REQUESTS: Final = (BedUpdate, Observations, BedMove, DisplayProfileUpdate, LoadTestResult)
BED_UPDATE: Final = TypeAdapter(BedUpdate)
OBSERVATIONS: Final = TypeAdapter(Observations)
BED_MOVE: Final = TypeAdapter(BedMove)
DISPLAY_PROFILE_UPDATE: Final = TypeAdapter(DisplayProfileUpdate)
LOAD_TEST_RESULT: Final = TypeAdapter(LoadTestResult)
