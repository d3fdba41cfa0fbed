"""Synthetic patients for the load: NHS numbers in the 999 test range (never a real patient's)."""

from __future__ import annotations

import datetime as dt
import random

GIVEN = ("Ada", "Ben", "Cara", "Dev", "Ella", "Finn", "Grace", "Hari", "Isla", "Jon", "Kemi", "Liam", "Maya", "Nico")
FAMILY = ("Shah", "Jones", "Okafor", "Smith", "Nowak", "Evans", "Patel", "Murphy", "Khan", "Brown", "Wood", "Ali")
CONSULTANTS = ("Dr Rao", "Dr Hughes", "Dr Mensah", "Dr Clarke", "Dr Lindqvist")


SEEDED_BLOCKS = range(5)  # 999[0-4]…: the seeder's patients; 999[5-9]…: the ones the feeds admit


def nhs_number(rng: random.Random, block: int | None = None) -> str:
    """A modulus-11-valid NHS number starting 999 (the range that is never issued).

    The fourth digit is the `block`: the seeder draws from blocks 0-4 and each feed user admits from a
    block of its own (5-9), so an admission never names a patient already in another bed (the board
    refuses that, `already_admitted`).
    """
    while True:
        first = str(rng.choice(SEEDED_BLOCKS) if block is None else block % 10)
        stem = "999" + first + "".join(str(rng.randrange(10)) for _ in range(5))
        check = 11 - sum(int(d) * (10 - i) for i, d in enumerate(stem)) % 11
        check = 0 if check == 11 else check
        if check != 10:
            return stem + str(check)


def patient(rng: random.Random, now: dt.datetime, block: int | None = None) -> dict[str, object]:
    """The record a hospital feed sends on admission (what the API's `"admit": true` takes)."""
    given, family = rng.choice(GIVEN), rng.choice(FAMILY)
    age = rng.randrange(18, 98)
    dob = dt.date(now.year - age, rng.randrange(1, 13), rng.randrange(1, 29))
    return {
        "name": f"{given} {family}",
        "initials": f"{given[0]}.{family[0]}.",
        "nhs_number": nhs_number(rng, block),
        "date_of_birth": dob.isoformat(),
        "age": age,
        "sex": rng.choice(("F", "M")),
        "consultant": rng.choice(CONSULTANTS),
    }
