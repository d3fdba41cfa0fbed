"""A recorded set of observations: what it writes to the bed (the NEWS2 summary) and to the history.

Pure: no I/O. The API (and later the feeds) build an `ObservationRecord` from a checked body; the write
path judges it inside the transaction against the patient on the bed (there must be one, and Scale 2
needs that patient's recorded clinical decision), then updates the bed and keeps the set in the history.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any

from whiteboard.domain import news2
from whiteboard.domain.beds import BedPatch
from whiteboard.errors import DomainError
from whiteboard.types import JSONDict

# The patient field holding the Scale 2 decision (`{"decided_by", "decided_at"}`); null: use Scale 1.
SCALE_2_FIELD = "spo2_scale_2"


@dataclass(frozen=True)
class ObservationRecord:
    """One charted set of vital signs with its score, as of `recorded_at` (the server's clock)."""

    obs: news2.Observations
    result: news2.News2Result
    recorded_at: dt.datetime
    # Feeds: who must be on the bed (as `BedPatch.expect`), so a set for someone else is never charted.
    expect: JSONDict | None = None
    # Feeds: a device does not choose the SpO2 scale; the set is charted on the scale the patient's record
    # prescribes (Scale 2 when a clinician's decision is on it), worked out against the committed record.
    scale_from_record: bool = False

    def for_patient(self, patient: JSONDict) -> ObservationRecord:
        """This set as charted for `patient` (rescored on Scale 2 when it takes the record's scale and the
        record holds the decision)."""
        if not self.scale_from_record or not patient.get(SCALE_2_FIELD) or self.obs.spo2_scale == 2:
            return self
        obs = dataclasses.replace(self.obs, spo2_scale=2)
        return dataclasses.replace(self, obs=obs, result=news2.score(obs))

    @property
    def summary(self) -> JSONDict:
        """The bed's `patient.news2` after this set (what the board shows)."""
        return news2.to_json(self.result, self.recorded_at)

    @property
    def bed_patch(self) -> BedPatch:
        return BedPatch(None, None, {"news2": self.summary}, existing_patient_only=True, expect=self.expect)


def record(
    body: Any, recorded_at: dt.datetime, *, expect: JSONDict | None = None, scale_from_record: bool = False
) -> ObservationRecord:
    """Check a body (the `Observations` model) and score it; a 422 names the first bad field."""
    try:
        obs = news2.parse_observations(body)
    except news2.ObservationError as exc:
        raise DomainError(exc.message, exc.field) from None
    return ObservationRecord(obs, news2.score(obs), recorded_at, expect, scale_from_record)


def check_scale(obs: news2.Observations, patient: JSONDict) -> None:
    """Scale 2 only when a clinician's decision to use it is on the patient's record (RCP 2017); else 422.

    Scoring a patient on Scale 2 without that decision under-scores low saturations, a missed deterioration.
    """
    if obs.spo2_scale == 2 and not patient.get(SCALE_2_FIELD):
        raise DomainError(
            "SpO2 Scale 2 is used only when a clinician has decided it for this patient: record that decision "
            "on the patient first (spo2_scale_2), or chart on Scale 1",
            "spo2_scale",
            "scale_2_not_decided",
        )


def preview(rec: ObservationRecord) -> JSONDict:
    """What the phone shows before saving, and the save's answer: the summary, each parameter and Chart 4."""
    return {
        **rec.summary,
        "parameters": news2.parameter_scores(rec.obs),
        "response": news2.response(rec.result),
    }


def history_row(rec: ObservationRecord, patient: JSONDict) -> JSONDict:
    """The history table's values for this set (who it was for, as the record named them then)."""
    obs, result = rec.obs, rec.result
    return {
        "nhs_number": patient.get("nhs_number"),
        "patient_name": patient.get("name"),
        "admitted_at": patient.get("admitted_at"),
        "recorded_at": rec.recorded_at,
        "respiration_rate": obs.respiration_rate,
        "spo2": obs.spo2,
        "spo2_scale": obs.spo2_scale,
        "on_oxygen": obs.on_oxygen,
        "systolic_bp": obs.systolic_bp,
        "pulse": obs.pulse,
        "consciousness": obs.consciousness,
        "temperature": obs.temperature,
        "score": result.score,
        "red_score": result.red_score,
        "risk": result.risk,
        "monitoring": result.monitoring,
        "next_due": result.next_due(rec.recorded_at),
    }
