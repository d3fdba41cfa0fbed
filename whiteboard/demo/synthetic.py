"""Synthetic demo wards, for demos, load tests and screenshots (the edits that follow: `changes.py`).

No real person's data: names are random pairings of common UK first names and surnames, and NHS
numbers are drawn from the 999 range that NHS Digital keeps for test data (they still pass the
mod-11 check so validators treat them as well formed). Everything is deterministic given the
`random.Random` passed in, so a seed reproduces a board exactly.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

from whiteboard.domain import news2
from whiteboard.domain.beds import FLAGS, STATUSES, TASK_KINDS
from whiteboard.domain.clock import iso
from whiteboard.domain.patient import nhs_check_digit

FEMALE_FIRST_NAMES: Final = (
    "Olivia", "Amelia", "Isla", "Ava", "Mia", "Grace", "Sophie", "Emily", "Jessica", "Chloe",
    "Margaret", "Patricia", "Susan", "Elizabeth", "Mary", "Joan", "Dorothy", "Jean", "Brenda", "Sheila",
    "Aisha", "Fatima", "Priya", "Anjali", "Nisha", "Amina", "Zainab", "Chiamaka", "Ngozi", "Abena",
    "Mei", "Lin", "Agnieszka", "Katarzyna", "Siobhan", "Niamh", "Bronwen", "Rhiannon", "Eilidh", "Marcia",
)  # fmt: skip
MALE_FIRST_NAMES: Final = (
    "Oliver", "George", "Harry", "Jack", "Noah", "Thomas", "James", "William", "Daniel", "Samuel",
    "John", "David", "Peter", "Michael", "Robert", "Brian", "Kenneth", "Derek", "Colin", "Trevor",
    "Mohammed", "Ahmed", "Imran", "Rajesh", "Sanjay", "Arjun", "Kwame", "Kofi", "Chinedu", "Tunde",
    "Wei", "Jun", "Piotr", "Tomasz", "Ciaran", "Sean", "Rhys", "Gareth", "Callum", "Winston",
)  # fmt: skip
SURNAMES: Final = (
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Robinson", "Wright",
    "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall", "Wood", "Jackson", "Clarke",
    "Patel", "Khan", "Ahmed", "Ali", "Hussain", "Begum", "Shah", "Singh", "Kaur", "Sharma",
    "Okafor", "Mensah", "Adeyemi", "Okonkwo", "Boateng", "Asante", "Campbell", "Francis", "Grant", "Henry",
    "Chen", "Wong", "Li", "Nguyen", "Kowalski", "Nowak", "Wisniewski", "Murphy", "Kelly", "O'Brien",
    "Byrne", "MacDonald", "Stewart", "Fraser", "Morgan", "Hughes", "Lewis", "Edwards", "Baker", "Turner",
    "Cooper", "Ward", "Morris", "Bennett", "Harris", "Martin", "Lee", "King", "Scott", "Young",
)  # fmt: skip

PATIENT_KEYS: Final = frozenset({
    "name", "initials", "nhs_number", "date_of_birth", "age", "sex", "consultant", "named_nurse", "admitted_at",
    "edd", "medically_optimised", "discharge_pathway", "discharge_status", "red_green", "news2", "flags", "tasks",
})  # fmt: skip

_TASK_TEXTS: Final[dict[str, tuple[str, ...]]] = {
    "bloods": ("FBC, U&E, CRP", "Repeat potassium", "Blood cultures x2", "INR before warfarin dose"),
    "tests": ("Chest X-ray", "CT head requested", "Echo requested", "ECG", "Ultrasound abdomen"),
    "results": ("Review CT result", "Chase blood cultures", "Check troponin", "Review ABG"),
    "therapy": ("Physio review", "OT home assessment", "SALT swallow assessment", "Dietitian review"),
    "tto": ("TTO to pharmacy", "Chase TTO", "Blister pack for TTO"),
    "transport": ("Book hospital transport", "Family collecting 16:00", "Transport booked for 11:00"),
    "porter": ("Porter to X-ray", "Porter to discharge lounge", "Porter for CT"),
    "other": ("Update family", "Social worker referral", "Capacity assessment", "Hearing aid batteries"),
}
_OCCUPIED_NOTES: Final = (
    "Family meeting 14:00", "Awaiting OT assessment", "Hearing impaired - left side", "Prefers to be called Bob",
    "Interpreter booked (Polish) 10:30", "Next of kin visiting after 18:00", "Awaiting social care package",
    "Chaplain requested", "Glasses in bedside locker", "Enhanced observation - wanders at night",
)  # fmt: skip
_EMPTY_NOTES: Final = ("Expected admission from ED", "Held for AMU transfer", "Pressure mattress on order")
_CLEANING_NOTES: Final = ("Deep clean requested", "Curtains to be changed", "HPV clean after C. diff")
_BLOCKED_NOTES: Final = ("Broken bed - estates called", "Awaiting bariatric bed", "Oxygen point faulty")
_CLOSED_NOTES: Final = ("Closed - norovirus in bay", "Closed - staffing", "Closed - awaiting repair")


@dataclass(frozen=True)
class WardSpec:
    id: str
    name: str
    consultants: tuple[str, ...]
    nurses: tuple[str, ...]
    min_age: int
    scale_2_share: float  # share of patients on SpO2 Scale 2 (prescribed for hypercapnic respiratory failure)


WARDS: Final = (
    WardSpec("ward-7a", "Ward 7A — Acute Medical Unit", ("Dr A. Patel", "Dr S. Okafor", "Dr H. Clarke"),
              ("RN Kofi Mensah", "RN Grace Walker", "RN Priya Sharma", "RN Tomasz Nowak"), 18, 0.05),
    WardSpec("ward-12", "Ward 12 — Respiratory", ("Dr R. Hughes", "Dr M. Chen", "Dr F. Hussain"),
              ("RN Siobhan Murphy", "RN Daniel Evans", "RN Abena Asante", "RN Wei Li"), 30, 0.3),
    WardSpec("ward-4", "Ward 4 — Elderly Care", ("Dr J. Fraser", "Dr N. Begum", "Dr P. Kowalski"),
              ("RN Marcia Campbell", "RN Gareth Morgan", "RN Aisha Khan", "RN Emily Turner"), 70, 0.05),
    WardSpec("ward-21", "Ward 21 — Surgical", ("Mr T. Robinson", "Ms K. Adeyemi", "Mr D. Singh"),
              ("RN Callum Stewart", "RN Ngozi Okonkwo", "RN Sophie Bennett", "RN Rajesh Shah"), 18, 0.0),
    WardSpec("ward-9", "Ward 9 — Cardiology", ("Dr L. Wong", "Dr E. Morris", "Dr C. Boateng"),
              ("RN Niamh Kelly", "RN Samuel Harris", "RN Mei Nguyen", "RN Winston Francis"), 30, 0.0),
)  # fmt: skip


@dataclass(frozen=True)
class DemoWard:
    """A ward as the seeder stores it: beds are wire-shaped dicts so they go straight into storage."""

    id: str
    name: str
    beds: tuple[dict[str, Any], ...]


def synthetic_nhs_number(rng: random.Random) -> str:
    """A valid-looking NHS number in the 999 test range, so it can never belong to a real patient."""
    while True:
        stem = "999" + "".join(str(rng.randrange(10)) for _ in range(6))
        check = nhs_check_digit(stem)
        if check is not None:  # a check digit of 10 means the stem is never issued; draw again
            return stem + str(check)


def age_on(dob: date, today: date) -> int:
    """Age in whole years, as the board shows it."""
    return today.year - dob.year - ((today.month, today.day) < (dob.month, dob.day))


def demo_wards(rng: random.Random, now: datetime) -> list[DemoWard]:
    """Build every demo ward; the first always has a free bed, a bed being cleaned and patients to show."""
    now = aware_utc(now)
    wards = []
    for index, spec in enumerate(WARDS):
        layout = _layout(rng)
        statuses = [_random_status(rng) for _ in layout]
        if index == 0:
            _ensure_statuses(rng, statuses, ("empty", "cleaning"))
        beds: list[dict[str, Any]] = []
        for (bed_id, bay), status in zip(layout, statuses, strict=True):
            patient = make_patient(rng, spec, now) if status == "occupied" else None
            beds.append(
                {"id": bed_id, "bay": bay, "status": status, "notes": random_note(rng, status), "patient": patient}
            )
        _flag_similar_names([b["patient"] for b in beds if b["patient"] is not None])
        wards.append(DemoWard(id=spec.id, name=spec.name, beds=tuple(beds)))
    return wards


def make_patient(
    rng: random.Random, spec: WardSpec, now: datetime, admitted_at: datetime | None = None
) -> dict[str, Any]:
    sex = rng.choices(("F", "M", "X"), weights=(48, 48, 4))[0]
    first_names = FEMALE_FIRST_NAMES if sex == "F" else MALE_FIRST_NAMES if sex == "M" else rng.choice(
        (FEMALE_FIRST_NAMES, MALE_FIRST_NAMES))  # fmt: skip
    first, surname = rng.choice(first_names), rng.choice(SURNAMES)
    today = now.date()
    # Mostly 40-95 (the inpatient mix); a few younger, never below the ward's minimum.
    years = rng.randint(spec.min_age, 39) if rng.random() < 0.08 and spec.min_age < 40 else rng.randint(
        max(40, spec.min_age), 95 if spec.min_age < 70 else 101)  # fmt: skip
    dob = _years_before(today, years) - timedelta(days=rng.randrange(365))
    if admitted_at is None:
        admitted_at = now - timedelta(seconds=rng.randrange(20 * 24 * 3600))
    edd, optimised, pathway, discharge_status = _discharge_plan(rng, today)
    recorded_at = now - timedelta(seconds=rng.randrange(6 * 3600))
    obs = observations(rng, spec.scale_2_share)
    flags = rng.sample(
        [f for f in FLAGS if f not in ("similar_name", "on_leave")], k=rng.choices((0, 1, 2, 3), (40, 35, 18, 7))[0]
    )
    task_count = rng.choices((0, 1, 2, 3, 4), weights=(25, 30, 25, 12, 8))[0]
    tasks = [make_task(rng, n, done=rng.random() < 0.3) for n in range(1, task_count + 1)]
    return {
        "name": f"{first} {surname}",
        "initials": f"{first[0]}.{surname[0]}.",
        "nhs_number": synthetic_nhs_number(rng),
        "date_of_birth": dob.isoformat(),
        "age": age_on(dob, today),
        "sex": sex,
        "consultant": rng.choice(spec.consultants),
        "named_nurse": rng.choice(spec.nurses),
        "admitted_at": iso(admitted_at),  # as the write path stamps an admission
        "edd": edd,
        "medically_optimised": optimised,
        "discharge_pathway": pathway,
        "discharge_status": discharge_status,
        "red_green": "green" if rng.random() < 0.4 else "red",
        "news2": news2.to_json(news2.score(obs), recorded_at),
        "flags": flags,
        "tasks": tasks,
    }


def _discharge_plan(rng: random.Random, today: date) -> tuple[str | None, bool, int | None, str]:
    """EDD, medically optimised, pathway (0 home ... 3 care home) and discharge status, kept mutually coherent."""
    when = rng.choices(("unknown", "today", "tomorrow", "later"), weights=(20, 15, 20, 45))[0]
    if when == "unknown":
        return None, False, None, "not_planned"
    days = 0 if when == "today" else 1 if when == "tomorrow" else rng.randint(2, 10)
    optimised = rng.random() < {0: 0.85, 1: 0.6}.get(days, 0.15)
    pathway = rng.choices((0, 1, 2, 3), weights=(55, 25, 12, 8))[0] if optimised or rng.random() < 0.3 else None
    status = "planned"
    if optimised and days == 0:
        status = rng.choice(("awaiting_tto", "awaiting_transport", "ready"))
    elif optimised and days == 1 and rng.random() < 0.4:
        status = "awaiting_tto"
    return (today + timedelta(days=days)).isoformat(), optimised, pathway, status


def observations(rng: random.Random, scale_2_share: float) -> news2.Observations:
    """Plausible vital signs: mostly stable, some unwell, a few sick, so every NEWS2 band shows up."""
    acuity = rng.choices((0, 1, 2), weights=(70, 22, 8))[0]

    def vary(normal: tuple[int, int], unwell: tuple[int, int], sick: tuple[int, int]) -> int:
        lo, hi = (normal, unwell, sick)[acuity] if rng.random() < 0.7 else normal
        return rng.randint(lo, hi)

    scale = 2 if rng.random() < scale_2_share else 1
    on_oxygen = rng.random() < (0.05, 0.35, 0.8)[acuity] or (scale == 2 and rng.random() < 0.7)
    spo2 = rng.randint(86, 95) if scale == 2 else vary((95, 99), (92, 97), (86, 94))
    temperature = rng.uniform(*((36.2, 37.6), (35.6, 38.6), (35.0, 39.8))[acuity])
    return news2.Observations(
        respiration_rate=vary((12, 20), (11, 23), (8, 30)),
        spo2=spo2,
        spo2_scale=scale,
        on_oxygen=on_oxygen,
        systolic_bp=vary((112, 160), (98, 180), (80, 225)),
        pulse=vary((55, 90), (48, 112), (40, 140)),
        consciousness="A" if acuity < 2 or rng.random() < 0.6 else rng.choice("CVPU"),
        temperature=round(temperature, 1),
    )


def make_task(rng: random.Random, number: int, *, done: bool) -> dict[str, Any]:
    kind = rng.choice(TASK_KINDS)
    return {"id": f"t{number}", "kind": kind, "text": rng.choice(_TASK_TEXTS[kind]), "done": done}


def _layout(rng: random.Random) -> list[tuple[str, str]]:
    """Four bays of 4-6 beds numbered B01 upwards, then side rooms SR1.., 20-30 beds in all."""
    sizes = [rng.randint(4, 6) for _ in range(4)]
    side_rooms = rng.randint(max(1, 20 - sum(sizes)), 4)
    beds = []
    number = 0
    for bay, size in enumerate(sizes, start=1):
        for _ in range(size):
            number += 1
            beds.append((f"B{number:02d}", f"Bay {bay}"))
    beds += [(f"SR{n}", f"Side room {n}") for n in range(1, side_rooms + 1)]
    return beds


def _random_status(rng: random.Random) -> str:
    return rng.choices(STATUSES, weights=(7, 80, 7, 3, 3))[0]


def _ensure_statuses(rng: random.Random, statuses: list[str], wanted: Sequence[str]) -> None:
    """Turn occupied beds into any missing wanted statuses, so the demo always shows them."""
    for status in wanted:
        if status not in statuses:
            occupied = [i for i, s in enumerate(statuses) if s == "occupied"]
            statuses[rng.choice(occupied)] = status


def random_note(rng: random.Random, status: str, *, always: bool = False) -> str:
    notes = {"occupied": _OCCUPIED_NOTES, "empty": _EMPTY_NOTES, "cleaning": _CLEANING_NOTES,
             "blocked": _BLOCKED_NOTES, "closed": _CLOSED_NOTES}.get(status, _OCCUPIED_NOTES)  # fmt: skip
    chance = 1.0 if always or status in ("blocked", "closed") else 0.3
    return rng.choice(notes) if rng.random() < chance else ""


def _flag_similar_names(patients: list[dict[str, Any]]) -> None:
    """Add the similar-name safety flag where two patients on the ward share a surname (keeping at most 3 flags)."""
    counts: dict[str, int] = {}
    for p in patients:
        counts[surname_of(p["name"])] = counts.get(surname_of(p["name"]), 0) + 1
    for p in patients:
        if counts[surname_of(p["name"])] > 1:
            p["flags"] = [*p["flags"][:2], "similar_name"]


def surname_of(name: str) -> str:
    return name.rsplit(" ", 1)[-1].casefold()


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a non-leap year
        return day.replace(year=day.year - years, day=28)


def aware_utc(moment: datetime) -> datetime:
    """`now` in UTC; a naive one is refused (unlike `clock.as_utc`, which reads the database's as UTC): the caller's
    clock must say its zone, or a seed would be hours out."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    return moment.astimezone(UTC)
