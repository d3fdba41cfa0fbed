"""NEWS2 against RCP Chart 1 band edges (both sides of every boundary) and Charts 3/4 thresholds."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from whiteboard.domain.news2 import (
    News2Result,
    ObservationError,
    Observations,
    parse_observations,
    result_from_score,
    score,
    to_json,
)

# Every parameter scores 0 here, so a test that changes one field sees that field's score alone.
NORMAL = Observations(
    respiration_rate=16,
    spo2=97,
    spo2_scale=1,
    on_oxygen=False,
    systolic_bp=120,
    pulse=70,
    consciousness="A",
    temperature=37.0,
)


def body(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "respiration_rate": 16,
        "spo2": 97,
        "spo2_scale": 1,
        "on_oxygen": False,
        "systolic_bp": 120,
        "pulse": 70,
        "consciousness": "A",
        "temperature": 37.0,
    }
    base.update(overrides)
    return base


def test_normal_observations_score_zero() -> None:
    assert score(NORMAL).score == 0


@pytest.mark.parametrize(
    ("rate", "expected"),
    [(0, 3), (8, 3), (9, 1), (11, 1), (12, 0), (20, 0), (21, 2), (24, 2), (25, 3), (80, 3)],
)
def test_respiration_rate_bands(rate: int, expected: int) -> None:
    assert score(replace(NORMAL, respiration_rate=rate)).score == expected


@pytest.mark.parametrize(
    ("spo2", "expected"),
    [(50, 3), (91, 3), (92, 2), (93, 2), (94, 1), (95, 1), (96, 0), (100, 0)],
)
def test_spo2_scale_1_bands_on_air(spo2: int, expected: int) -> None:
    assert score(replace(NORMAL, spo2=spo2)).score == expected


@pytest.mark.parametrize(
    ("spo2", "expected"),
    [(91, 3), (92, 2), (93, 2), (94, 1), (95, 1), (96, 0), (100, 0)],
)
def test_spo2_scale_1_on_oxygen_adds_two_for_oxygen_only(spo2: int, expected: int) -> None:
    assert score(replace(NORMAL, spo2=spo2, on_oxygen=True)).score == expected + 2


@pytest.mark.parametrize(
    ("spo2", "expected"),
    [(50, 3), (83, 3), (84, 2), (85, 2), (86, 1), (87, 1), (88, 0), (92, 0), (93, 0), (97, 0), (100, 0)],
)
def test_spo2_scale_2_bands_on_air(spo2: int, expected: int) -> None:
    assert score(replace(NORMAL, spo2=spo2, spo2_scale=2)).score == expected


@pytest.mark.parametrize(
    ("spo2", "expected"),
    [
        (83, 3),
        (84, 2),
        (85, 2),
        (86, 1),
        (87, 1),
        (88, 0),
        (92, 0),
        (93, 1),
        (94, 1),
        (95, 2),
        (96, 2),
        (97, 3),
        (100, 3),
    ],
)
def test_spo2_scale_2_bands_on_oxygen(spo2: int, expected: int) -> None:
    # The +2 is the separate "air or oxygen" row of Chart 1.
    assert score(replace(NORMAL, spo2=spo2, spo2_scale=2, on_oxygen=True)).score == expected + 2


def test_oxygen_alone_scores_two_and_is_not_a_red_score() -> None:
    result = score(replace(NORMAL, spo2=98, on_oxygen=True))
    assert (result.score, result.red_score) == (2, False)


def test_scale_2_high_saturation_on_oxygen_is_a_red_score() -> None:
    assert score(replace(NORMAL, spo2=97, spo2_scale=2, on_oxygen=True)).red_score


@pytest.mark.parametrize(
    ("bp", "expected"),
    [(30, 3), (90, 3), (91, 2), (100, 2), (101, 1), (110, 1), (111, 0), (219, 0), (220, 3), (300, 3)],
)
def test_systolic_bp_bands(bp: int, expected: int) -> None:
    assert score(replace(NORMAL, systolic_bp=bp)).score == expected


@pytest.mark.parametrize(
    ("pulse", "expected"),
    [(0, 3), (40, 3), (41, 1), (50, 1), (51, 0), (90, 0), (91, 1), (110, 1), (111, 2), (130, 2), (131, 3), (300, 3)],
)
def test_pulse_bands(pulse: int, expected: int) -> None:
    assert score(replace(NORMAL, pulse=pulse)).score == expected


@pytest.mark.parametrize(("level", "expected"), [("A", 0), ("C", 3), ("V", 3), ("P", 3), ("U", 3)])
def test_consciousness_acvpu(level: str, expected: int) -> None:
    result = score(replace(NORMAL, consciousness=level))
    assert result.score == expected
    assert result.red_score is (expected == 3)


@pytest.mark.parametrize(
    ("temperature", "expected"),
    [
        (25.0, 3),
        (35.0, 3),
        (35.1, 1),
        (36.0, 1),
        (36.1, 0),
        (38.0, 0),
        (38.1, 1),
        (39.0, 1),
        (39.1, 2),
        (45.0, 2),
        # Readings with more precision are charted to one decimal place (half up) first.
        (35.04, 3),
        (35.05, 1),
        (36.05, 0),
        (38.04, 0),
        (38.05, 1),
        (39.05, 2),
    ],
)
def test_temperature_bands(temperature: float, expected: int) -> None:
    assert score(replace(NORMAL, temperature=temperature)).score == expected


def test_aggregate_example_medium() -> None:
    obs = Observations(
        respiration_rate=22,  # 2
        spo2=95,  # 1
        spo2_scale=1,
        on_oxygen=False,  # 0
        systolic_bp=105,  # 1
        pulse=95,  # 1
        consciousness="A",  # 0
        temperature=37.5,  # 0
    )
    assert score(obs) == News2Result(5, False, "medium", "hourly", 60)


def test_aggregate_example_high() -> None:
    obs = Observations(
        respiration_rate=26,  # 3
        spo2=90,  # 3
        spo2_scale=1,
        on_oxygen=True,  # 2
        systolic_bp=95,  # 2
        pulse=125,  # 2
        consciousness="C",  # 3
        temperature=39.5,  # 2
    )
    assert score(obs) == News2Result(17, True, "high", "continuous", 15)


def test_maximum_aggregate_is_twenty() -> None:
    obs = Observations(5, 80, 1, True, 80, 150, "U", 34.0)
    assert score(obs).score == 20


def test_red_score_with_low_aggregate_is_low_medium_and_hourly() -> None:
    result = score(replace(NORMAL, consciousness="V"))
    assert result == News2Result(3, True, "low-medium", "hourly", 60)


def test_red_score_does_not_lower_medium_or_high() -> None:
    assert score(replace(NORMAL, consciousness="V", pulse=115)).risk == "medium"  # 3 + 2
    assert score(replace(NORMAL, consciousness="V", pulse=135, spo2=95)).risk == "high"  # 3 + 3 + 1


@pytest.mark.parametrize(
    ("total", "red", "risk", "monitoring", "minutes"),
    [
        (0, False, "low", "12-hourly", 720),
        (1, False, "low", "4-6-hourly", 240),
        (4, False, "low", "4-6-hourly", 240),
        (3, True, "low-medium", "hourly", 60),
        (4, True, "low-medium", "hourly", 60),
        (5, False, "medium", "hourly", 60),
        (6, False, "medium", "hourly", 60),
        (6, True, "medium", "hourly", 60),
        (7, False, "high", "continuous", 15),
        (7, True, "high", "continuous", 15),
        (20, True, "high", "continuous", 15),
    ],
)
def test_result_from_score_thresholds(total: int, red: bool, risk: str, monitoring: str, minutes: int) -> None:
    assert result_from_score(total, red) == News2Result(total, red, risk, monitoring, minutes)


@pytest.mark.parametrize(
    ("total", "red", "field"),
    [(-1, False, "score"), (21, False, "score"), (True, False, "score"), (3.0, False, "score"), (5, 1, "red_score")],
)
def test_result_from_score_rejects(total: Any, red: Any, field: str) -> None:
    with pytest.raises(ObservationError) as info:
        result_from_score(total, red)
    assert info.value.field == field


@pytest.mark.parametrize(("total", "minutes"), [(0, 720), (2, 240), (5, 60), (9, 15)])
def test_next_due(total: int, minutes: int) -> None:
    at = datetime(2026, 11, 22, 15, 4, 5, tzinfo=UTC)
    assert result_from_score(total, False).next_due(at) == at + timedelta(minutes=minutes)


def test_to_json_uses_utc_seconds() -> None:
    bst = timezone(timedelta(hours=1))
    at = datetime(2026, 6, 1, 9, 30, 0, 123456, tzinfo=bst)
    assert to_json(result_from_score(2, False), at) == {
        "score": 2,
        "red_score": False,
        "risk": "low",
        "monitoring": "4-6-hourly",
        "recorded_at": "2026-06-01T08:30:00Z",
        "next_due": "2026-06-01T12:30:00Z",
    }


def test_to_json_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError):
        to_json(result_from_score(0, False), datetime(2026, 1, 1))


def test_parse_observations_accepts_valid_body() -> None:
    assert parse_observations(body()) == NORMAL


def test_parse_observations_accepts_integer_temperature_as_float() -> None:
    obs = parse_observations(body(temperature=37))
    assert obs.temperature == 37.0
    assert isinstance(obs.temperature, float)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"respiration_rate": -1}, "respiration_rate"),
        ({"respiration_rate": 81}, "respiration_rate"),
        ({"respiration_rate": 16.0}, "respiration_rate"),
        ({"respiration_rate": "16"}, "respiration_rate"),
        ({"respiration_rate": True}, "respiration_rate"),
        ({"spo2": 49}, "spo2"),
        ({"spo2": 101}, "spo2"),
        ({"spo2": None}, "spo2"),
        ({"spo2_scale": 3}, "spo2_scale"),
        ({"spo2_scale": 0}, "spo2_scale"),
        ({"spo2_scale": True}, "spo2_scale"),
        ({"spo2_scale": 1.0}, "spo2_scale"),
        ({"on_oxygen": 1}, "on_oxygen"),
        ({"on_oxygen": "yes"}, "on_oxygen"),
        ({"systolic_bp": 29}, "systolic_bp"),
        ({"systolic_bp": 301}, "systolic_bp"),
        ({"pulse": -1}, "pulse"),
        ({"pulse": 301}, "pulse"),
        ({"pulse": False}, "pulse"),
        ({"consciousness": "X"}, "consciousness"),
        ({"consciousness": "a"}, "consciousness"),
        ({"consciousness": 0}, "consciousness"),
        ({"temperature": 24.9}, "temperature"),
        ({"temperature": 45.1}, "temperature"),
        ({"temperature": "37.0"}, "temperature"),
        ({"temperature": True}, "temperature"),
        ({"temperature": float("nan")}, "temperature"),
        ({"temperature": float("inf")}, "temperature"),
        ({"heart_rate": 70}, "heart_rate"),
    ],
)
def test_parse_observations_rejects_with_field(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(ObservationError) as info:
        parse_observations(body(**overrides))
    assert info.value.field == field
    assert info.value.message
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    "missing",
    ["respiration_rate", "spo2", "spo2_scale", "on_oxygen", "systolic_bp", "pulse", "consciousness", "temperature"],
)
def test_parse_observations_requires_every_field(missing: str) -> None:
    incomplete = body()
    del incomplete[missing]
    with pytest.raises(ObservationError) as info:
        parse_observations(incomplete)
    assert info.value.field == missing


@pytest.mark.parametrize("not_an_object", [None, [], "obs", 3])
def test_parse_observations_requires_an_object(not_an_object: object) -> None:
    with pytest.raises(ObservationError) as info:
        parse_observations(not_an_object)
    assert info.value.field is None
