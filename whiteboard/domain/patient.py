"""Who a patient is: the NHS number's check digit, initials, and the similar-name warning."""

from __future__ import annotations

import re
from typing import Final

from whiteboard.errors import DomainError
from whiteboard.types import JSONDict

# Who the patient is. On an occupied bed these change only with an explicit admit that replaces the whole
# record (hazard H15): a name changed alone would put one patient's NHS number, date of birth and care
# under another's name.
IDENTITY_FIELDS: Final = ("name", "nhs_number", "date_of_birth")
_NHS = re.compile(r"[0-9]{10}")


def nhs_check_digit(stem: str) -> int | None:
    """The modulus-11 check digit of an NHS number's first nine digits (weights 10 to 2); None when it would be
    10, which means no number with that stem is ever issued."""
    check = 11 - sum(int(d) * (10 - i) for i, d in enumerate(stem)) % 11
    return 0 if check == 11 else None if check == 10 else check


def nhs_number_valid(digits: str) -> bool:
    """Ten ASCII digits whose last is the check digit of the others: a typo is caught here, not on the ward."""
    return _NHS.fullmatch(digits) is not None and nhs_check_digit(digits[:9]) == int(digits[9])


def initials_of(name: str) -> str:
    parts = [p for p in re.split(r"[\s\-]+", name.strip()) if p]
    if not parts:
        return ""
    picked = [parts[0], parts[-1]] if len(parts) > 1 else parts
    return "".join(p[0].upper() + "." for p in picked)


def _name_keys(p: JSONDict) -> tuple[str, str]:
    """(initials as letters, surname folded): what two patients must not share unwarned."""
    raw_name, raw_initials = p.get("name"), p.get("initials")
    name = raw_name if isinstance(raw_name, str) else ""
    initials = raw_initials if isinstance(raw_initials, str) and raw_initials else initials_of(name)
    letters = "".join(ch for ch in initials.upper() if ch.isalpha())
    parts = name.split()
    surname = parts[-1].casefold() if len(parts) > 1 else ""
    return letters, surname


def similar_names(patients: dict[str, JSONDict | None]) -> set[str]:
    """The beds whose patient shares initials or a surname with another patient on the same ward.

    Worked out from the staff-side names, so a public board can warn ("similar name") without showing
    any name: the NPSA's similar-name alert, where "A.W." in B01 and "A.W." in B18 are easy to mix up.
    """
    by_key: dict[tuple[str, str], list[str]] = {}
    for bed_id, p in patients.items():
        if not isinstance(p, dict):
            continue
        letters, surname = _name_keys(p)
        if letters:
            by_key.setdefault(("i", letters), []).append(bed_id)
        if surname:
            by_key.setdefault(("s", surname), []).append(bed_id)
    return {bed_id for ids in by_key.values() if len(ids) > 1 for bed_id in ids}


def names_differ(a: JSONDict | None, b: JSONDict | None) -> bool:
    """Whether a change could move the similar-name warning (an admission, discharge or new name)."""
    if a is None or b is None:
        return a is not b
    return a.get("name") != b.get("name") or a.get("initials") != b.get("initials")


def check_expected(current: JSONDict | None, expect: JSONDict) -> None:
    """The patient on a bed is the one a feed message names (each identity field both sides know agrees);
    a message about someone else is refused, never applied to whoever is there (hazard: wrong patient)."""
    if current is None:
        raise DomainError("there is no patient on this bed", "patient", "no_patient")
    for key in IDENTITY_FIELDS:
        if expect.get(key) is not None and current.get(key) is not None and expect[key] != current[key]:
            raise DomainError(
                f"the patient on this bed is not the one named (patient.{key} differs): nothing was changed",
                f"patient.{key}",
                "wrong_patient",
            )
