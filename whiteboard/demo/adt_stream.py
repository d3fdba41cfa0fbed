"""A synthetic PAS: a plausible stream of ADT messages for the wards of a running server (`feed demo`).

It starts from the board as it is (who is in which bed) and keeps its own picture from the ACKs: an
admission refused because the bed is taken marks the bed as someone else's. The mix is a ward's day:
admissions and discharges, updates, transfers within and between wards, leave, bed cleaning, and the
occasional cancel and swap. Names and NHS numbers are synthetic (999 range), never a real patient's.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from whiteboard.demo.synthetic import FEMALE_FIRST_NAMES, MALE_FIRST_NAMES, SURNAMES, synthetic_nhs_number
from whiteboard.feeds.compose import Person, adt

CONSULTANTS = ("C1001^OKAFOR^NGOZI^^^DR", "C1002^PATEL^RAJESH^^^DR", "C1003^MURPHY^SIOBHAN^^^DR")


@dataclass
class Step:
    event: str
    message: str
    # What the stream believes afterwards if the message is accepted.
    apply: Any = field(default=None, repr=False)


@dataclass
class AdtStream:
    rng: random.Random
    beds: dict[tuple[str, str], Person | None]  # (ward, bed) → who the stream believes is there
    foreign: set[tuple[str, str]] = field(default_factory=set)  # taken by something the stream cannot see
    cleaning: set[tuple[str, str]] = field(default_factory=set)
    number: int = 0

    def _person(self) -> Person:
        sex = self.rng.choice("FM")
        first = self.rng.choice(FEMALE_FIRST_NAMES if sex == "F" else MALE_FIRST_NAMES)
        born = f"{self.rng.randint(1930, 2000)}{self.rng.randint(1, 12):02d}{self.rng.randint(1, 28):02d}"
        return Person(self.rng.choice(SURNAMES), first, synthetic_nhs_number(self.rng), born, sex)

    def _control(self) -> str:
        self.number += 1
        return f"DEMO{self.number:06d}"

    def _free(self) -> list[tuple[str, str]]:
        return [k for k, p in self.beds.items() if p is None and k not in self.foreign and k not in self.cleaning]

    def _occupied(self) -> list[tuple[str, str]]:
        return [k for k, p in self.beds.items() if p is not None]

    def next(self) -> Step:
        """The next message, chosen from what the board allows now."""
        free, occupied = self._free(), self._occupied()
        choices: list[tuple[str, float]] = [("A01", 3.0 if free else 0), ("A08", 2.0 if occupied else 0),
                   ("A03", 2.5 if occupied else 0), ("A02", 1.5 if occupied and free else 0),
                   ("A21", 0.5 if occupied else 0), ("A20", 2.0 if self.cleaning else 0),
                   ("A11", 0.2 if occupied else 0), ("A17", 0.3 if len(occupied) > 1 else 0)]  # fmt: skip
        events = [e for e, w in choices if w > 0]
        if not events:
            return self._admit(self.rng.choice(list(self.beds)))
        event = self.rng.choices(events, [w for _, w in choices if w > 0])[0]
        if event == "A01":
            return self._admit(self.rng.choice(free))
        if event == "A20":
            where = self.rng.choice(sorted(self.cleaning))
            return Step("A20", adt("A20", self._control(), None, npu=(_pl(where), "U")),
                        lambda: self.cleaning.discard(where))  # fmt: skip
        where = self.rng.choice(occupied)
        person = self.beds[where]
        assert person is not None
        if event == "A08":
            return Step("A08", adt("A08", self._control(), person, _pl(where), consultant=self.rng.choice(CONSULTANTS)))
        if event == "A21":
            return Step("A21", adt("A21", self._control(), person, _pl(where)))
        if event in ("A03", "A11"):

            def gone() -> None:
                self.beds[where] = None
                if event == "A03":
                    self.cleaning.add(where)

            return Step(event, adt(event, self._control(), person, _pl(where)), gone)
        if event == "A02":
            to = self.rng.choice(free)

            def moved() -> None:
                self.beds[to], self.beds[where] = person, None
                self.cleaning.add(where)

            return Step("A02", adt("A02", self._control(), person, _pl(to), prior=_pl(where)), moved)
        other = self.rng.choice([k for k in occupied if k != where])
        second = self.beds[other]
        assert second is not None

        def swapped() -> None:
            self.beds[where], self.beds[other] = second, person

        return Step("A17", adt("A17", self._control(), person, _pl(where), second=(second, _pl(other))), swapped)

    def _admit(self, where: tuple[str, str]) -> Step:
        person = self._person()

        def admitted() -> None:
            self.beds[where] = person

        message = adt("A01", self._control(), person, _pl(where), consultant=self.rng.choice(CONSULTANTS))
        return Step("A01", message, admitted)

    def answered(self, step: Step, code: str) -> None:
        """Keep the stream's picture true to what the board said."""
        if code in ("AA", "CA") and step.apply is not None:
            step.apply()
        elif code == "AE" and step.event == "A01":  # the bed is taken by a patient the stream cannot see
            for key, person in self.beds.items():
                if person is None and _pl(key) in step.message:
                    self.foreign.add(key)


def _pl(where: tuple[str, str]) -> str:
    return f"{where[0]}^^{where[1]}"


def from_board(rng: random.Random, wards: list[Any]) -> AdtStream:
    """A stream for these wards (`WardState`s): the patients on them, by name and NHS number, are known."""
    beds: dict[tuple[str, str], Person | None] = {}
    foreign: set[tuple[str, str]] = set()
    cleaning: set[tuple[str, str]] = set()
    for ward in wards:
        for bed in ward.beds:
            key = (ward.id, bed["id"])
            p = bed["patient"]
            beds[key] = _known(p) if p else None
            if bed["status"] in ("closed", "blocked") or (p and not p.get("nhs_number")):
                foreign.add(key)
            elif bed["status"] == "cleaning":
                cleaning.add(key)
    return AdtStream(rng, beds, foreign, cleaning)


def _known(patient: dict[str, Any]) -> Person:
    given, _, family = str(patient["name"]).rpartition(" ")
    born = str(patient.get("date_of_birth") or "").replace("-", "")
    return Person(family or given, given, str(patient.get("nhs_number") or ""), born, str(patient.get("sex") or "U"))
