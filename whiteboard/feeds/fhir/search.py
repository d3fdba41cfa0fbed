"""The search parameters this server answers, over the wards a credential covers (handed in as plain values).

Unknown parameters are refused (400) rather than ignored: a client that filters by something we do not know
would otherwise get every patient on the ward and think it got one. A comma in a value means OR (FHIR search).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Final

from whiteboard.feeds.fhir import codes, vitals
from whiteboard.feeds.fhir.outcome import FhirError
from whiteboard.feeds.fhir.resources import (
    bed_location,
    bed_location_id,
    encounter,
    encounter_id,
    patient_id,
    patient_resource,
    ward_location,
)
from whiteboard.types import JSONDict

# Result parameters any search may carry and which change nothing here (one page holds a whole ward).
_IGNORED: Final = frozenset({"_format", "_pretty", "_count", "_summary"})
PARAMETERS: Final = {
    "Location": frozenset({"_id", "partof"}),
    "Encounter": frozenset({"_id", "location", "status", "patient", "subject"}),
    "Patient": frozenset({"_id", "name", "identifier"}),
    "Observation": frozenset({"_id", "patient", "subject", "encounter"}),
}


@dataclass(frozen=True, slots=True)
class Ward:
    """One ward as the search sees it: id, name and beds (the ward view's bed dicts)."""

    id: str
    name: str
    beds: list[JSONDict]

    def occupied(self) -> Iterator[JSONDict]:
        return (b for b in self.beds if b.get("patient"))


def parse_params(kind: str, items: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """name → the values it allows (OR); each parameter at most once, none unknown."""
    allowed = PARAMETERS[kind]
    out: dict[str, list[str]] = {}
    for name, value in items:
        if name in _IGNORED:
            continue
        if name not in allowed:
            known = ", ".join(sorted(allowed))
            raise FhirError(400, "not-supported", f"{kind} search has no parameter {name!r}; use {known}", name)
        if name in out:
            raise FhirError(400, "invalid", f"give {name} once (a comma-separated value means either)", name)
        values = [v.strip() for v in value.split(",") if v.strip()]
        if not values or any("\x00" in v or len(v) > 200 for v in values):
            raise FhirError(400, "invalid", f"{name} needs a value of at most 200 characters", name)
        out[name] = values
    return out


def reference_ids(kind: str, values: list[str]) -> set[str]:
    """`Kind/ID`, a full URL ending in it, or a bare ID → ID. A reference to another type is a 400."""
    ids: set[str] = set()
    for value in values:
        head, slash, tail = value.rstrip("/").rpartition("/")
        if not slash:
            ids.add(value)
            continue
        if head.rsplit("/", 1)[-1] != kind:
            raise FhirError(400, "invalid", f"{value!r} is not a reference to a {kind}")
        ids.add(tail)
    return ids


def locations(wards: list[Ward], params: dict[str, list[str]]) -> list[JSONDict]:
    ids = set(params["_id"]) if "_id" in params else None
    parents = reference_ids("Location", params["partof"]) if "partof" in params else None
    out: list[JSONDict] = []
    for ward in wards:
        if parents is None and (ids is None or ward.id in ids):
            out.append(ward_location(ward.id, ward.name))
        if parents is not None and ward.id not in parents:
            continue
        for bed in ward.beds:
            if ids is None or bed_location_id(ward.id, bed["id"]) in ids:
                out.append(bed_location(ward.id, bed))
    return out


def encounters(wards: list[Ward], params: dict[str, list[str]], *, identifiable: bool) -> list[JSONDict]:
    places = reference_ids("Location", params["location"]) if "location" in params else None
    statuses = set(params.get("status", ())) or None
    for status in statuses or ():
        if status not in codes.ENCOUNTER_STATUSES:
            raise FhirError(400, "code-invalid", f"{status!r} is not an Encounter status", "status")
    who = _patient_filter(params)
    if who is not None and not identifiable:
        raise FhirError(403, "forbidden", "a display credential reads no patient, not even by reference", "patient")
    out: list[JSONDict] = []
    for ward in wards:
        for bed in ward.occupied():
            res = encounter(ward.id, ward.name, bed, identifiable=identifiable)
            refs = {loc["location"]["reference"].removeprefix("Location/") for loc in res["location"]}
            if places is not None and not refs & places:
                continue
            if statuses is not None and res["status"] not in statuses:
                continue
            if "_id" in params and res["id"] not in params["_id"]:
                continue
            if who is not None and patient_id(bed["patient"]) not in who:
                continue
            out.append(res)
    return out


def _patient_filter(params: dict[str, list[str]]) -> set[str] | None:
    refs = params.get("patient", []) + params.get("subject", [])
    return reference_ids("Patient", refs) if refs else None


def _name_matches(name: str, wanted: list[str]) -> bool:
    """FHIR string search: case-insensitive, matching the start of the name or of any part of it."""
    text = name.casefold()
    words = text.split()
    return any(text.startswith(w.casefold()) or any(p.startswith(w.casefold()) for p in words) for w in wanted)


def _identifier_matches(nhs_number: str | None, wanted: list[str]) -> bool:
    for value in wanted:
        system, bar, code = value.rpartition("|")
        if bar and system and system != codes.NHS_NUMBER:
            continue
        if nhs_number and code.replace(" ", "") == nhs_number:
            return True
    return False


def patients(wards: list[Ward], params: dict[str, list[str]]) -> list[JSONDict]:
    out: list[JSONDict] = []
    for ward in wards:
        for bed in ward.occupied():
            patient: JSONDict = bed["patient"]
            if "_id" in params and patient_id(patient) not in params["_id"]:
                continue
            if "name" in params and not _name_matches(patient.get("name") or "", params["name"]):
                continue
            if "identifier" in params and not _identifier_matches(patient.get("nhs_number"), params["identifier"]):
                continue
            out.append(patient_resource(patient))
    return out


def observation_beds(wards: list[Ward], params: dict[str, list[str]]) -> list[tuple[str, JSONDict]]:
    """The occupied beds (ward id, bed) whose patient's history the search needs: narrowed by patient and
    encounter before any history is read."""
    who = _patient_filter(params)
    stays = reference_ids("Encounter", params["encounter"]) if "encounter" in params else None
    out: list[tuple[str, JSONDict]] = []
    for ward in wards:
        for bed in ward.occupied():
            if who is not None and patient_id(bed["patient"]) not in who:
                continue
            if stays is not None and encounter_id(bed["patient"]) not in stays:
                continue
            out.append((ward.id, bed))
    return out


def observations(
    beds: list[tuple[str, JSONDict]], histories: dict[tuple[str, str], list[JSONDict]], params: dict[str, list[str]]
) -> list[JSONDict]:
    """Each patient's charted sets (and a bare current score), newest first per patient; `encounter` keeps only
    that stay's sets, `_id` the named ones."""
    stays = reference_ids("Encounter", params["encounter"]) if "encounter" in params else None
    out: list[JSONDict] = []
    for ward_id, bed in beds:
        for obs in vitals.history(ward_id, bed, histories.get((ward_id, bed["id"]), [])):
            stay = obs.get("encounter", {}).get("reference", "").removeprefix("Encounter/")
            if stays is not None and stay not in stays:
                continue
            if "_id" in params and obs["id"] not in params["_id"]:
                continue
            out.append(obs)
    return out


def wards_of(resources: list[JSONDict], wards: list[Ward]) -> list[str]:
    """The wards whose patients these resources are about (for the read audit), in the given order."""
    ids = {r["id"] for r in resources}
    refs = {r.get("subject", {}).get("reference", "").removeprefix("Patient/") for r in resources}
    touched = []
    for ward in wards:
        for bed in ward.occupied():
            pid = patient_id(bed["patient"])
            if pid in ids or pid in refs or any(r["resourceType"] == "Encounter" and r["id"] == "e" + pid[1:]
                                                  for r in resources):  # fmt: skip
                touched.append(ward.id)
                break
    return touched
