"""A charted set on its own: Scale 2 only with the clinician's recorded decision, the per-parameter scores that
make the aggregate (property-based over every chartable value), and the Chart 4 response for every band."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from whiteboard.domain import news2, observations
from whiteboard.domain.wire.values import OBSERVATION_RANGES, TEMPERATURE_RANGE
from whiteboard.errors import DomainError

AT = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
BODY = {"respiration_rate": 16, "spo2": 90, "spo2_scale": 2, "on_oxygen": False, "systolic_bp": 120, "pulse": 70,
        "consciousness": "A", "temperature": 37.0}  # fmt: skip


def test_scale_2_needs_the_decision_on_the_patients_record() -> None:
    rec = observations.record(BODY, AT)
    with pytest.raises(DomainError) as refused:
        observations.check_scale(rec.obs, {"name": "Ada", "spo2_scale_2": None})
    assert (refused.value.code, refused.value.field) == ("scale_2_not_decided", "spo2_scale")
    observations.check_scale(rec.obs, {"name": "Ada", "spo2_scale_2": {"decided_by": "Dr Shah", "decided_at": "t"}})
    observations.check_scale(observations.record({**BODY, "spo2_scale": 1}, AT).obs, {"name": "Ada"})


def test_the_preview_is_the_summary_with_its_parts_and_response() -> None:
    rec = observations.record({**BODY, "spo2_scale": 1}, AT)  # 90 % on Scale 1 scores 3: a red score
    shown = observations.preview(rec)
    assert shown["score"] == 3 and shown["red_score"] and shown["risk"] == "low-medium"
    assert shown["parameters"]["spo2"] == 3 and sum(shown["parameters"].values()) == 3
    assert shown["next_due"] == "2026-12-01T10:00:00Z" and "medical team" in shown["response"]
    assert rec.bed_patch.patient == {"news2": rec.summary} and rec.bed_patch.existing_patient_only


def test_a_bad_body_is_a_422_naming_the_field() -> None:
    with pytest.raises(DomainError) as refused:
        observations.record({**BODY, "pulse": "fast"}, AT)
    assert refused.value.field == "pulse"


@pytest.mark.parametrize(
    ("total", "red", "words"),
    [(0, False, "routine"), (4, False, "registered nurse"), (3, True, "3 in one parameter"), (5, False, "Urgent"),
     (6, True, "Urgent"), (7, False, "Emergency"), (20, True, "Emergency")],
)  # fmt: skip
def test_every_band_has_its_chart_4_response(total: int, red: bool, words: str) -> None:
    assert words in news2.response(news2.result_from_score(total, red))


def _range(name: str) -> st.SearchStrategy[int]:
    lo, hi = OBSERVATION_RANGES[name]
    return st.integers(lo, hi)


chartable = st.builds(
    news2.Observations,
    respiration_rate=_range("respiration_rate"),
    spo2=_range("spo2"),
    spo2_scale=st.sampled_from([1, 2]),
    on_oxygen=st.booleans(),
    systolic_bp=_range("systolic_bp"),
    pulse=_range("pulse"),
    consciousness=st.sampled_from(["A", "C", "V", "P", "U"]),
    temperature=st.integers(int(TEMPERATURE_RANGE[0] * 10), int(TEMPERATURE_RANGE[1] * 10)).map(lambda t: t / 10),
)


@given(chartable)
def test_the_aggregate_is_the_sum_of_its_parts_and_the_band_follows_chart_3(obs: news2.Observations) -> None:
    parts = news2.parameter_scores(obs)
    result = news2.score(obs)
    assert all(0 <= p <= 3 for p in parts.values())
    assert result.score == sum(parts.values()) <= news2.MAX_SCORE
    assert result.red_score == (3 in parts.values())
    if result.score >= 7:
        assert (result.risk, result.interval_minutes) == ("high", 15)
    elif result.score >= 5:
        assert (result.risk, result.interval_minutes) == ("medium", 60)
    elif result.red_score:
        assert (result.risk, result.interval_minutes) == ("low-medium", 60)
    else:
        assert result.risk == "low" and result.interval_minutes == (240 if result.score else 720)
    assert news2.response(result)
