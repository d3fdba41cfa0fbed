"""NEWS2 scoring for the board: parameter scores, aggregate, clinical risk and monitoring interval.

Implements the National Early Warning Score (NEWS) 2, Charts 1, 3 and 4, from:
Royal College of Physicians. *National Early Warning Score (NEWS) 2: Standardising the assessment
of acute-illness severity in the NHS.* Updated report of a working party. London: RCP, 2017.
NEWS2 is © Royal College of Physicians; it is reproduced here with acknowledgement, as the RCP
asks, and its charts are not modified. Check the bands against the RCP report before release.

Everything here is pure: no I/O, no clock. Callers pass `recorded_at` so tests and replays agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Final, get_args

from pydantic import ValidationError

from whiteboard.domain.wire.refusal import refusal
from whiteboard.domain.wire.requests import OBSERVATIONS
from whiteboard.domain.wire.requests import Observations as ObservationsBody
from whiteboard.domain.wire.values import NEWS2_MAX, Consciousness

# The ranges a charted value may take are the wire model's (`wire.requests.Observations`).
CONSCIOUSNESS_LEVELS: Final = frozenset(get_args(Consciousness))
MAX_SCORE: Final = NEWS2_MAX
FIELDS: Final = frozenset(ObservationsBody.__required_keys__)


class ObservationError(ValueError):
    """Observations or a score failed validation; `field` names the culprit so the API can answer 422 precisely."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True)
class Observations:
    """One set of vital signs as charted; `spo2_scale` 2 only when a clinician has prescribed it."""

    respiration_rate: int
    spo2: int
    spo2_scale: int
    on_oxygen: bool
    systolic_bp: int
    pulse: int
    consciousness: str
    temperature: float


@dataclass(frozen=True)
class News2Result:
    """Aggregate score with its Chart 3 risk and Chart 4 minimum monitoring frequency.

    `interval_minutes` is how long the board treats the observations as current: 720 for 12-hourly,
    240 for 4-6-hourly (the stricter end, so the board never shows obs as in date when the RCP
    minimum might already be missed), 60 for hourly. Continuous monitoring has no interval; the board
    uses 15 minutes as a "check again" prompt, because a wall board cannot see the monitor and a
    patient at the emergency threshold whose charted obs are older than that is a stale-data hazard.
    """

    score: int
    red_score: bool
    risk: str
    monitoring: str
    interval_minutes: int

    def next_due(self, recorded_at: datetime) -> datetime:
        """When the next set of observations is due, given when this set was recorded."""
        return recorded_at + timedelta(minutes=self.interval_minutes)


def parse_observations(body: object) -> Observations:
    """Validate a decoded JSON object strictly (the `Observations` wire model), so that a typo or a unit mix-up
    never becomes a score."""
    try:
        obs = OBSERVATIONS.validate_python(body)
    except ValidationError as exc:
        refused = refusal(exc, body)
        raise ObservationError(refused.message, refused.field) from None
    return Observations(
        respiration_rate=obs["respiration_rate"],
        spo2=obs["spo2"],
        spo2_scale=obs["spo2_scale"],
        on_oxygen=obs["on_oxygen"],
        systolic_bp=obs["systolic_bp"],
        pulse=obs["pulse"],
        consciousness=obs["consciousness"],
        temperature=float(obs["temperature"]),
    )


def parameter_scores(obs: Observations) -> dict[str, int]:
    """Each Chart 1 parameter's score, so a nurse sees which one drives the aggregate."""
    return {
        "respiration_rate": _respiration(obs.respiration_rate),
        "spo2": _spo2(obs.spo2, obs.spo2_scale, obs.on_oxygen),
        "air_or_oxygen": 2 if obs.on_oxygen else 0,
        "systolic_bp": _systolic(obs.systolic_bp),
        "pulse": _pulse(obs.pulse),
        "consciousness": 0 if obs.consciousness == "A" else 3,
        "temperature": _temperature(obs.temperature),
    }


def score(obs: Observations) -> News2Result:
    """Score observations exactly per RCP NEWS2 Chart 1 and classify them per Charts 3 and 4."""
    parts = parameter_scores(obs).values()
    return _classify(sum(parts), any(p == 3 for p in parts))


# Chart 4, shortened for a phone screen; the wording follows the RCP's (DOMAIN.md has it in full).
RESPONSES: Final = {
    ("low", "12-hourly"): "Continue routine NEWS monitoring.",
    ("low", "4-6-hourly"): "Inform the registered nurse, who must assess the patient and decide whether "
    "monitoring should increase or care be escalated.",
    ("low-medium", "hourly"): "3 in one parameter: the registered nurse informs the medical team, who review and "
    "decide whether to escalate care.",
    ("medium", "hourly"): "Urgent response: inform the medical team now and request urgent assessment by a "
    "clinician with acute-illness competencies; care in a monitored environment.",
    ("high", "continuous"): "Emergency response: inform the medical team now (at least specialist registrar); "
    "emergency assessment by a critical-care team; consider transfer to level 2 or 3 care.",
}


def response(result: News2Result) -> str:
    """The Chart 4 clinical response for a result's risk band."""
    return RESPONSES[(result.risk, result.monitoring)]


def result_from_score(score: int, red_score: bool) -> News2Result:
    """Classify a score from a feed that sends only the aggregate and the red-score flag."""
    if not _is_int(score) or not 0 <= score <= MAX_SCORE:
        raise ObservationError(f"score must be an integer from 0 to {MAX_SCORE}", "score")
    if not isinstance(red_score, bool):
        raise ObservationError("red_score must be true or false", "red_score")
    return _classify(score, red_score)


def to_json(result: News2Result, recorded_at: datetime) -> dict[str, Any]:
    """The wire shape; times are UTC to the second so every display and the database agree."""
    return {
        "score": result.score,
        "red_score": result.red_score,
        "risk": result.risk,
        "monitoring": result.monitoring,
        "recorded_at": format_utc(recorded_at),
        "next_due": format_utc(result.next_due(recorded_at)),
    }


def format_utc(moment: datetime) -> str:
    """`2026-11-22T15:04:05Z`; naive datetimes are refused because their zone is a guess (clock-skew hazard)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("datetime must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _classify(total: int, red: bool) -> News2Result:
    if total >= 7:
        return News2Result(total, red, "high", "continuous", 15)
    if total >= 5:
        return News2Result(total, red, "medium", "hourly", 60)
    if red:
        return News2Result(total, red, "low-medium", "hourly", 60)
    if total >= 1:
        return News2Result(total, red, "low", "4-6-hourly", 240)
    return News2Result(total, red, "low", "12-hourly", 720)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _respiration(rate: int) -> int:
    if rate <= 8:
        return 3
    if rate <= 11:
        return 1
    if rate <= 20:
        return 0
    if rate <= 24:
        return 2
    return 3


def _spo2(spo2: int, scale: int, on_oxygen: bool) -> int:
    if scale == 1:
        if spo2 <= 91:
            return 3
        if spo2 <= 93:
            return 2
        if spo2 <= 95:
            return 1
        return 0
    # Scale 2 (hypercapnic respiratory failure): target 88-92 %; high saturations on oxygen score.
    if spo2 <= 83:
        return 3
    if spo2 <= 85:
        return 2
    if spo2 <= 87:
        return 1
    if spo2 <= 92 or not on_oxygen:
        return 0
    if spo2 <= 94:
        return 1
    if spo2 <= 96:
        return 2
    return 3


def _systolic(bp: int) -> int:
    if bp <= 90:
        return 3
    if bp <= 100:
        return 2
    if bp <= 110:
        return 1
    if bp <= 219:
        return 0
    return 3


def _pulse(rate: int) -> int:
    if rate <= 40:
        return 3
    if rate <= 50:
        return 1
    if rate <= 90:
        return 0
    if rate <= 110:
        return 1
    if rate <= 130:
        return 2
    return 3


def _temperature(celsius: float) -> int:
    # Chart 1 bands are to one decimal place; round half up first so 36.05 is charted as 36.1, not a gap.
    tenths = int(Decimal(repr(celsius)).scaleb(1).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    if tenths <= 350:
        return 3
    if tenths <= 360:
        return 1
    if tenths <= 380:
        return 0
    if tenths <= 390:
        return 1
    return 2
