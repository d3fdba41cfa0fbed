"""A stream of plausible nurse edits to the synthetic wards, as PATCH bodies for the real write path.

Admissions and discharges are weighted by occupancy; everything is deterministic given the `random.Random`.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from whiteboard.demo.synthetic import (
    WARDS,
    WardSpec,
    as_utc,
    make_patient,
    make_task,
    observations,
    random_note,
    surname_of,
)
from whiteboard.domain import news2


def random_change(
    rng: random.Random, beds: Sequence[dict[str, Any]], now: datetime
) -> tuple[str, dict[str, Any]] | None:
    """One plausible edit a nurse might make, as `(bed_id, PATCH body)`.

    Admissions and discharges are weighted by occupancy so that a ward left running drifts to and
    stays around 80-95 % of its usable (not blocked or closed) beds.
    """
    now = as_utc(now)
    if not beds:
        return None
    occupied = [b for b in beds if b.get("status") == "occupied" and isinstance(b.get("patient"), dict)]
    empty = [b for b in beds if b.get("status") == "empty"]
    cleaning = [b for b in beds if b.get("status") == "cleaning"]
    usable = sum(1 for b in beds if b.get("status") not in ("blocked", "closed"))
    occupancy = len(occupied) / usable if usable else 1.0

    options: list[tuple[float, str]] = [(1.5, "notes")]
    if empty:
        options.append((_band(occupancy, (6.0, 2.0, 0.3, 0.0)), "admit"))
    if cleaning:
        options.append((2.0, "cleaned"))
    if occupied:
        options.append((_band(occupancy, (0.05, 0.25, 0.6, 1.5)), "discharge"))
        options += [(2.0, "red_green"), (3.0, "tasks"), (0.7, "nurse"), (1.0, "edd"), (3.0, "news2")]

    while options:
        kinds = [k for _, k in options]
        kind = rng.choices(kinds, weights=[w for w, _ in options])[0] if any(w > 0 for w, _ in options) else kinds[0]
        change = _make_change(rng, kind, beds, occupied, empty, cleaning, now)
        if change is not None:
            return change
        options = [(w, k) for w, k in options if k != kind]
    return None


def _make_change(
    rng: random.Random,
    kind: str,
    beds: Sequence[dict[str, Any]],
    occupied: list[dict[str, Any]],
    empty: list[dict[str, Any]],
    cleaning: list[dict[str, Any]],
    now: datetime,
) -> tuple[str, dict[str, Any]] | None:
    if kind == "notes":
        bed = rng.choice(beds)
        note = "" if bed.get("notes") and rng.random() < 0.4 else random_note(rng, str(bed.get("status")), always=True)
        return (str(bed["id"]), {"notes": note}) if note != bed.get("notes") else None
    if kind == "admit":
        return str(rng.choice(empty)["id"]), {"status": "occupied", "patient": _admission(rng, beds, now)}
    if kind == "cleaned":
        return str(rng.choice(cleaning)["id"]), {"status": "empty"}
    if kind == "discharge":
        return str(rng.choice(occupied)["id"]), {"patient": None, "status": "cleaning"}

    bed = rng.choice(occupied)
    patient: dict[str, Any] = bed["patient"]
    update: dict[str, Any]
    if kind == "red_green":
        red = [b for b in occupied if b["patient"].get("red_green") != "green"]
        if not red:
            return None
        bed, update = rng.choice(red), {"red_green": "green"}
    elif kind == "tasks":
        update = {"tasks": _updated_tasks(rng, patient.get("tasks"))}
    elif kind == "nurse":
        pool = sorted({str(b["patient"]["named_nurse"]) for b in occupied if b["patient"].get("named_nurse")})
        choices = [n for n in pool if n != patient.get("named_nurse")]
        if not choices:
            return None
        update = {"named_nurse": rng.choice(choices)}
    elif kind == "edd":
        edd = (now.date() + timedelta(days=rng.randint(0, 7))).isoformat()
        if edd == patient.get("edd"):
            return None
        update = {"edd": edd}
    else:  # news2: a fresh set of obs, sent as a feed would send it
        result = news2.score(observations(rng, 0.0))
        update = {"news2": {"score": result.score, "red_score": result.red_score}}
    return str(bed["id"]), {"patient": update}


def _updated_tasks(rng: random.Random, current: object) -> list[dict[str, Any]]:
    """Tick a pending task, or add one; the full list goes back because PATCH replaces `tasks` whole."""
    tasks = [dict(t) for t in current if isinstance(t, dict)] if isinstance(current, list) else []
    pending = [t for t in tasks if not t.get("done")]
    if pending and (len(tasks) >= 4 or rng.random() < 0.6):
        rng.choice(pending)["done"] = True
        return tasks
    ids = [str(t.get("id", "")) for t in tasks]
    next_number = max((int(i[1:]) for i in ids if i.startswith("t") and i[1:].isdigit()), default=0) + 1
    if len(tasks) >= 4:
        tasks = pending  # all ticked (else we ticked one above): clear them off to make room
    tasks.append(make_task(rng, next_number, done=False))  # never reuse a cleared task's id
    return tasks


def _admission(rng: random.Random, beds: Sequence[dict[str, Any]], now: datetime) -> dict[str, Any]:
    """A new patient arriving now: starts the day red, with only the score a feed would send."""
    patients = [b["patient"] for b in beds if isinstance(b.get("patient"), dict)]
    consultants = tuple(sorted({str(p["consultant"]) for p in patients if p.get("consultant")}))
    nurses = tuple(sorted({str(p["named_nurse"]) for p in patients if p.get("named_nurse")}))
    spec = WARDS[0]
    spec = WardSpec(spec.id, spec.name, consultants or spec.consultants, nurses or spec.nurses, 18, 0.05)
    patient = make_patient(rng, spec, now, admitted_at=now)
    patient["red_green"] = "red"
    patient["news2"] = {"score": patient["news2"]["score"], "red_score": patient["news2"]["red_score"]}
    surnames = {surname_of(str(p.get("name", ""))) for p in patients}
    if surname_of(patient["name"]) in surnames and "similar_name" not in patient["flags"]:
        patient["flags"] = [*patient["flags"][:2], "similar_name"]
    return patient


def _band(occupancy: float, weights: tuple[float, float, float, float]) -> float:
    """Pick the weight for occupancy below 80 %, 80-90 %, 90-95 % and from 95 % up."""
    return weights[bisect.bisect_right((0.8, 0.9, 0.95), occupancy)]
