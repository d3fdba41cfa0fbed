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

# A charted set's vital signs, as components of its NEWS2 Observation: LOINC as the R4 vital-signs profile
# names them (the set's own code stays the SNOMED NEWS2 total above). Each: board field → (coding, UCUM unit).
LOINC: Final = "http://loinc.org"
UCUM: Final = "http://unitsofmeasure.org"
VITAL_CODES: Final = {
    "respiration_rate": ([{"system": LOINC, "code": "9279-1", "display": "Respiratory rate"}], "/min",
                         "breaths/minute"),
    "spo2": ([{"system": LOINC, "code": "59408-5",
               "display": "Oxygen saturation in Arterial blood by Pulse oximetry"},
              {"system": LOINC, "code": "2708-6", "display": "Oxygen saturation in Arterial blood"}], "%", "%"),
    "systolic_bp": ([{"system": LOINC, "code": "8480-6", "display": "Systolic blood pressure"}], "mm[Hg]", "mmHg"),
    "pulse": ([{"system": LOINC, "code": "8867-4", "display": "Heart rate"}], "/min", "beats/minute"),
    "temperature": ([{"system": LOINC, "code": "8310-5", "display": "Body temperature"}], "Cel", "°C"),
}  # fmt: skip
# ACVPU: LOINC 67775-7 Level of responsiveness; the answer in the board's own system (A, C, V, P, U: C, new
# confusion, is NEWS2's and has no AVPU answer) plus the SNOMED CT AVPU findings for the four that have one.
RESPONSIVENESS: Final = {"system": LOINC, "code": "67775-7", "display": "Level of responsiveness"}
ACVPU_SYSTEM: Final = "https://ward-whiteboard.example/fhir/CodeSystem/news2-acvpu"
ACVPU_DISPLAY: Final = {"A": "Alert", "C": "New confusion", "V": "Responds to voice", "P": "Responds to pain",
                        "U": "Unresponsive"}  # fmt: skip
ACVPU_SNOMED: Final = {
    "A": ("248234008", "Mentally alert"),
    "V": ("300202002", "Responds to voice"),
    "P": ("450847001", "Responds to pain"),
    "U": ("422768004", "Unresponsive"),
}
# NEWS2's own inputs with no standard code we can vouch for: air or oxygen (yes/no) and the SpO2 scale (1 or 2).
NEWS2_PARAMETER: Final = "https://ward-whiteboard.example/fhir/CodeSystem/news2-parameter"
ON_OXYGEN: Final = {"system": NEWS2_PARAMETER, "code": "on-oxygen", "display": "Supplemental oxygen (not air)"}
SPO2_SCALE: Final = {"system": NEWS2_PARAMETER, "code": "spo2-scale", "display": "NEWS2 SpO2 scale"}
