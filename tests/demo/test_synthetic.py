"""Demo wards are deterministic, synthetic (999 NHS numbers) and keep bed/patient invariants under random edits."""

from __future__ import annotations

import copy
import random
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from whiteboard.demo.changes import random_change
from whiteboard.demo.synthetic import (
    DISCHARGE_STATUSES,
    FLAGS,
    PATIENT_KEYS,
    STATUSES,
    TASK_KINDS,
    DemoWard,
    age_on,
    demo_wards,
    nhs_number_is_valid,
    synthetic_nhs_number,
)
from whiteboard.domain import news2

NOW = datetime(2026, 11, 22, 15, 4, 5, tzinfo=UTC)
UTC_STAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
BED_KEYS = {"id", "bay", "status", "notes", "patient"}
NEWS2_KEYS = {"score", "red_score", "risk", "monitoring", "recorded_at", "next_due"}


@pytest.fixture(scope="module")
def wards() -> list[DemoWard]:
    return demo_wards(random.Random(2026), NOW)


def patients(wards: list[DemoWard]) -> list[dict[str, Any]]:
    return [b["patient"] for w in wards for b in w.beds if b["patient"] is not None]


def parse_utc(text: str) -> datetime:
    assert UTC_STAMP.match(text), text
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def test_same_seed_same_wards() -> None:
    assert demo_wards(random.Random(7), NOW) == demo_wards(random.Random(7), NOW)
    assert demo_wards(random.Random(7), NOW) != demo_wards(random.Random(8), NOW)


def test_same_seed_same_changes() -> None:
    def run(seed: int) -> list[Any]:
        rng = random.Random(seed)
        beds = copy.deepcopy(list(demo_wards(rng, NOW)[0].beds))
        return [random_change(rng, beds, NOW) for _ in range(20)]

    assert run(3) == run(3)


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError):
        demo_wards(random.Random(1), datetime(2026, 1, 1))


def test_ward_ids_names_and_bed_layout(wards: list[DemoWard]) -> None:
    assert len(wards) >= 4
    assert len({w.id for w in wards}) == len(wards)
    for ward in wards:
        assert re.match(r"^ward-[0-9]+[a-z]?$", ward.id)
        assert re.match(r"^Ward [0-9]+[A-Z]? — \S", ward.name)
        assert 20 <= len(ward.beds) <= 30
        ids = [b["id"] for b in ward.beds]
        assert len(set(ids)) == len(ids)
        bay_beds = [b for b in ward.beds if b["id"].startswith("B")]
        assert [b["id"] for b in bay_beds] == [f"B{n:02d}" for n in range(1, len(bay_beds) + 1)]
        side = [b for b in ward.beds if b["id"].startswith("SR")]
        assert [b["id"] for b in side] == [f"SR{n}" for n in range(1, len(side) + 1)]
        assert 1 <= len(side) <= 4
        assert all(b["bay"] == f"Side room {b['id'][2:]}" for b in side)
        bays: dict[str, int] = {}
        for bed in bay_beds:
            bays[bed["bay"]] = bays.get(bed["bay"], 0) + 1
        assert sorted(bays) == ["Bay 1", "Bay 2", "Bay 3", "Bay 4"]
        assert all(4 <= n <= 6 for n in bays.values())


def test_first_ward_shows_empty_cleaning_and_patients() -> None:
    for seed in range(30):
        statuses = [b["status"] for b in demo_wards(random.Random(seed), NOW)[0].beds]
        assert "empty" in statuses
        assert "cleaning" in statuses
        assert "occupied" in statuses


def test_mostly_occupied(wards: list[DemoWard]) -> None:
    beds = [b for w in wards for b in w.beds]
    share = sum(b["status"] == "occupied" for b in beds) / len(beds)
    assert 0.65 <= share <= 0.95


def test_bed_shape_and_status_patient_consistency(wards: list[DemoWard]) -> None:
    for ward in wards:
        for bed in ward.beds:
            assert set(bed) == BED_KEYS
            assert bed["status"] in STATUSES
            assert isinstance(bed["notes"], str)
            assert (bed["status"] == "occupied") == (bed["patient"] is not None)


def test_patient_schema(wards: list[DemoWard]) -> None:
    for ward in wards:
        ward_patients = [b["patient"] for b in ward.beds if b["patient"] is not None]
        assert 1 < len({p["consultant"] for p in ward_patients}) <= 5
        assert 1 < len({p["named_nurse"] for p in ward_patients}) <= 6
    for p in patients(wards):
        assert set(p) == PATIENT_KEYS
        first, last = p["name"].split(" ")
        assert p["initials"] == f"{first[0]}.{last[0]}."
        assert p["sex"] in ("F", "M", "X")
        assert re.match(r"^(Dr|Mr|Ms|Mrs|Miss) [A-Z]\. \S+$", p["consultant"])
        assert re.match(r"^RN \S+ \S+$", p["named_nurse"])
        admitted = parse_utc(p["admitted_at"])
        assert NOW - timedelta(days=20) <= admitted <= NOW
        assert p["edd"] is None or date.fromisoformat(p["edd"]) >= NOW.date()
        assert isinstance(p["medically_optimised"], bool)
        assert p["discharge_pathway"] in (0, 1, 2, 3, None)
        assert p["discharge_status"] in DISCHARGE_STATUSES
        assert p["red_green"] in ("red", "green")
        assert 0 <= len(p["flags"]) <= 3
        assert len(set(p["flags"])) == len(p["flags"])
        assert set(p["flags"]) <= set(FLAGS)
        assert 0 <= len(p["tasks"]) <= 4
        for n, task in enumerate(p["tasks"], start=1):
            assert set(task) == {"id", "kind", "text", "done"}
            assert task["id"] == f"t{n}"
            assert task["kind"] in TASK_KINDS
            assert task["text"] and isinstance(task["done"], bool)


def test_edd_mix(wards: list[DemoWard]) -> None:
    edds = [p["edd"] for p in patients(wards)]
    today, tomorrow = NOW.date().isoformat(), (NOW.date() + timedelta(days=1)).isoformat()
    assert None in edds and today in edds and tomorrow in edds
    assert any(e is not None and e > tomorrow for e in edds)


def test_news2_is_consistent_and_some_obs_are_overdue(wards: list[DemoWard]) -> None:
    overdue = 0
    for p in patients(wards):
        n = p["news2"]
        assert set(n) == NEWS2_KEYS
        expected = news2.result_from_score(n["score"], n["red_score"])
        recorded = parse_utc(n["recorded_at"])
        assert NOW - timedelta(hours=6) <= recorded <= NOW
        assert news2.to_json(expected, recorded) == n
        overdue += parse_utc(n["next_due"]) < NOW
    assert overdue > 0


def test_similar_surnames_are_flagged(wards: list[DemoWard]) -> None:
    for ward in wards:
        ward_patients = [b["patient"] for b in ward.beds if b["patient"] is not None]
        surnames = [p["name"].split(" ")[-1] for p in ward_patients]
        for p, surname in zip(ward_patients, surnames, strict=True):
            assert ("similar_name" in p["flags"]) == (surnames.count(surname) > 1)


def test_ages_match_date_of_birth(wards: list[DemoWard]) -> None:
    ages = []
    for p in patients(wards):
        dob = date.fromisoformat(p["date_of_birth"])
        assert p["age"] == age_on(dob, NOW.date())
        assert 18 <= p["age"] <= 105
        ages.append(p["age"])
    assert sum(40 <= a <= 95 for a in ages) / len(ages) >= 0.8


@pytest.mark.parametrize(
    ("dob", "today", "age"),
    [
        (date(1950, 11, 22), date(2026, 11, 22), 76),
        (date(1950, 11, 23), date(2026, 11, 22), 75),
        (date(1948, 2, 29), date(2026, 2, 28), 77),
        (date(1948, 2, 29), date(2026, 3, 1), 78),
    ],
)
def test_age_on(dob: date, today: date, age: int) -> None:
    assert age_on(dob, today) == age


def test_nhs_numbers_are_synthetic_and_valid(wards: list[DemoWard]) -> None:
    numbers = [p["nhs_number"] for p in patients(wards)]
    assert len(set(numbers)) == len(numbers)
    for number in numbers:
        assert re.match(r"^999[0-9]{7}$", number)
        assert nhs_number_is_valid(number)


def test_synthetic_nhs_number_many_draws() -> None:
    rng = random.Random(0)
    for _ in range(2000):
        number = synthetic_nhs_number(rng)
        assert number.startswith("999") and len(number) == 10 and nhs_number_is_valid(number)


@pytest.mark.parametrize("number", ["9434765919", "943 476 5919", "4010232137"])
def test_known_valid_nhs_numbers(number: str) -> None:
    # 943 476 5919 is the NHS Data Dictionary's worked example.
    assert nhs_number_is_valid(number)


@pytest.mark.parametrize(
    "number",
    [
        "9434765918",  # wrong check digit
        "9434765910",
        "1234567890",  # check digit would be 10: never issued
        "943476591",  # too short
        "94347659190",  # too long
        "94347659l9",
        "943-476-5919",
        "9434 765 919",
        "",
        "９４３４７６５９１９",  # full-width digits are not ASCII
    ],
)
def test_invalid_nhs_numbers(number: str) -> None:
    assert not nhs_number_is_valid(number)


def apply_patch(beds: list[dict[str, Any]], bed_id: str, patch: dict[str, Any]) -> None:
    """What the server does with a PATCH: top-level keys replace, patient keys merge, None clears the patient."""
    bed = next(b for b in beds if b["id"] == bed_id)
    for key, value in patch.items():
        if key != "patient":
            bed[key] = value
        elif value is None or bed["patient"] is None:
            bed["patient"] = copy.deepcopy(value)
        else:
            bed["patient"].update(copy.deepcopy(value))


def check_patch(bed: dict[str, Any], patch: dict[str, Any]) -> None:
    assert patch and set(patch) <= {"notes", "status", "patient"}
    if "notes" in patch:
        assert set(patch) == {"notes"} and isinstance(patch["notes"], str)
    if "status" in patch:
        assert patch["status"] in STATUSES
    if patch.get("status") == "cleaning":
        assert patch == {"patient": None, "status": "cleaning"} and bed["status"] == "occupied"
    if patch.get("status") == "empty":
        assert patch == {"status": "empty"} and bed["status"] == "cleaning"
    if patch.get("status") == "occupied":
        assert bed["status"] == "empty"
        patient = patch["patient"]
        assert set(patient) == PATIENT_KEYS
        assert patient["news2"].keys() == {"score", "red_score"}
        assert re.match(r"^999[0-9]{7}$", patient["nhs_number"]) and nhs_number_is_valid(patient["nhs_number"])
    elif isinstance(patch.get("patient"), dict):
        assert set(patch) == {"patient"} and bed["status"] == "occupied"
        update = patch["patient"]
        assert len(update) == 1 and set(update) <= PATIENT_KEYS
        if "red_green" in update:
            assert update == {"red_green": "green"}
        if "news2" in update:
            assert update["news2"].keys() == {"score", "red_score"}
            news2.result_from_score(update["news2"]["score"], update["news2"]["red_score"])
        if "edd" in update:
            date.fromisoformat(update["edd"])
        if "tasks" in update:
            assert len(update["tasks"]) <= 4
            for task in update["tasks"]:
                assert set(task) == {"id", "kind", "text", "done"} and task["kind"] in TASK_KINDS
            assert len({t["id"] for t in update["tasks"]}) == len(update["tasks"])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_change_keeps_invariants_over_500_steps(seed: int) -> None:
    rng = random.Random(seed)
    for ward in demo_wards(rng, NOW):
        beds = copy.deepcopy(list(ward.beds))
        occupancy = []
        seen: set[str] = set()
        for step in range(500):
            change = random_change(rng, beds, NOW + timedelta(minutes=step))
            assert change is not None
            bed_id, patch = change
            bed = next(b for b in beds if b["id"] == bed_id)
            check_patch(bed, patch)
            seen |= set(patch) | (set(patch["patient"]) if isinstance(patch.get("patient"), dict) else set())
            apply_patch(beds, bed_id, patch)
            for b in beds:
                assert set(b) == BED_KEYS
                assert (b["status"] == "occupied") == (b["patient"] is not None)
            usable = [b for b in beds if b["status"] not in ("blocked", "closed")]
            occupancy.append(sum(b["status"] == "occupied" for b in usable) / len(usable))
        later = occupancy[200:]
        assert 0.8 <= sum(later) / len(later) <= 0.97
        assert {"notes", "status", "tasks", "news2"} <= seen


def test_random_change_on_nothing_is_none() -> None:
    assert random_change(random.Random(0), [], NOW) is None


def test_random_change_tolerates_extra_patient_keys() -> None:
    rng = random.Random(5)
    beds = copy.deepcopy(list(demo_wards(rng, NOW)[0].beds))
    for bed in beds:
        if bed["patient"] is not None:
            bed["patient"]["updated_by"] = "feed"
            bed["patient"]["news2"]["stale"] = False
    for _ in range(100):
        change = random_change(rng, beds, NOW)
        assert change is not None
        bed = next(b for b in beds if b["id"] == change[0])
        check_patch(bed, change[1])
        apply_patch(beds, *change)


def test_admits_when_ward_is_emptied() -> None:
    rng = random.Random(11)
    beds = copy.deepcopy(list(demo_wards(rng, NOW)[1].beds))
    for bed in beds:
        bed.update(status="empty", patient=None)
    admissions = 0
    for _ in range(50):
        change = random_change(rng, beds, NOW)
        assert change is not None
        admissions += change[1].get("status") == "occupied"
        apply_patch(beds, *change)
    assert admissions >= 10


def test_changes_pass_the_servers_bed_rules() -> None:
    """Every generated PATCH is accepted by the write path's own parse and state rules."""
    from whiteboard.domain import beds as beds_rules

    rng = random.Random(42)
    for ward in demo_wards(rng, NOW):
        beds = copy.deepcopy(list(ward.beds))
        for step in range(300):
            change = random_change(rng, beds, NOW + timedelta(minutes=step))
            assert change is not None
            bed_id, patch = change
            bed = next(b for b in beds if b["id"] == bed_id)
            parsed = beds_rules.parse_patch(copy.deepcopy(patch))
            beds_rules.apply_patch(bed, parsed, NOW)
            apply_patch(beds, bed_id, patch)
