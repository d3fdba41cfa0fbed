"""The code systems and fixed values the FHIR mapping uses, each once, with where it comes from."""

from __future__ import annotations

from typing import Final

FHIR_VERSION: Final = "4.0.1"
FHIR_JSON: Final = "application/fhir+json"

# HL7 v2 table 0116 Bed Status, the binding of Location.operationalStatus (DOMAIN.md).
V2_0116: Final = "http://terminology.hl7.org/CodeSystem/v2-0116"
BED_STATUS_DISPLAY: Final = {
    "C": "Closed",
    "H": "Housekeeping",
    "I": "Isolated",
    "K": "Contaminated",
    "O": "Occupied",
    "U": "Unoccupied",
}
# Board status → table 0116. `blocked` has no code of its own: it is a closed bed (and Location.status suspended).
STATUS_TO_0116: Final = {"empty": "U", "occupied": "O", "cleaning": "H", "closed": "C", "blocked": "C"}
# Table 0116 → board status when a transaction sets a bed's state. I and K are occupied beds with a flag.
CODE_TO_STATUS: Final = {
    "U": "empty", "O": "occupied", "H": "cleaning", "C": "closed", "I": "occupied", "K": "occupied",
}  # fmt: skip
CODE_TO_FLAG: Final = {"I": "isolation", "K": "infection"}

LOCATION_PHYSICAL_TYPE: Final = "http://terminology.hl7.org/CodeSystem/location-physical-type"
NHS_NUMBER: Final = "https://fhir.nhs.uk/Id/nhs-number"
# The board's own identifiers for wards and beds (an example namespace until a trust names its own).
BOARD_LOCATION: Final = "https://ward-whiteboard.example/fhir/location"

ENCOUNTER_CLASS: Final = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
INPATIENT: Final = {"system": ENCOUNTER_CLASS, "code": "IMP", "display": "inpatient encounter"}
# Encounter.status values that put a patient in a bed, and those that take them out of it.
IN_BED_STATUSES: Final = frozenset({"arrived", "in-progress"})
LEFT_STATUSES: Final = frozenset({"finished", "cancelled", "entered-in-error"})
ENCOUNTER_STATUSES: Final = frozenset(
    {"planned", "arrived", "triaged", "in-progress", "onleave", "finished", "cancelled", "entered-in-error", "unknown"}
)

# The board's sex → FHIR administrative gender, and back.
SEX_TO_GENDER: Final = {"F": "female", "M": "male", "X": "other", "U": "unknown"}
GENDER_TO_SEX: Final = {v: k for k, v in SEX_TO_GENDER.items()}

# NEWS2 total score: SNOMED CT UK edition 1104051000000101, as UK Core and NHS England's observations use it.
SNOMED: Final = "http://snomed.info/sct"
NEWS2_CODE: Final = {
    "system": SNOMED,
    "code": "1104051000000101",
    "display": "Royal College of Physicians National Early Warning Score 2 (NEWS2) total score",
}
OBSERVATION_CATEGORY: Final = "http://terminology.hl7.org/CodeSystem/observation-category"
SURVEY: Final = {"system": OBSERVATION_CATEGORY, "code": "survey", "display": "Survey"}
# The board's NEWS2 fields that have no FHIR element of their own ride in extensions under this base.
EXTENSION_BASE: Final = "https://ward-whiteboard.example/fhir/StructureDefinition"
RED_SCORE_EXT: Final = f"{EXTENSION_BASE}/news2-red-score"
NEXT_DUE_EXT: Final = f"{EXTENSION_BASE}/news2-next-due"
RISK_SYSTEM: Final = f"{EXTENSION_BASE}/news2-risk"
