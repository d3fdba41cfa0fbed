"""A transaction Bundle mapped onto the board (pure: the board as it is now is handed in): what each entry
means, and every refusal an OperationOutcome naming the entry, before anything is written."""

from __future__ import annotations

from typing import Any

import pytest

from tests.feeds.fhir.bundles import bed_state, encounter, news2, patient, transaction, vital_signs
from whiteboard.domain.beds import BedPatch
from whiteboard.domain.moves import Move
from whiteboard.domain.observations import ObservationRecord
from whiteboard.feeds.fhir.outcome import FhirError
from whiteboard.feeds.fhir.resources import patient_id
from whiteboard.feeds.fhir.search import Ward
from whiteboard.feeds.fhir.transaction import Plan, plan_transaction

ON_BOARD = {"name": "Ada Lovelace", "nhs_number": "9434765919", "admitted_at": "2026-11-30T08:00:00.000Z",
            "date_of_birth": None, "flags": ["falls"]}  # fmt: skip


def wards() -> list[Ward]:
    beds: list[dict[str, Any]] = [
        {"id": f"B0{i}", "bay": "Bay 1", "status": "empty", "notes": "", "patient": None} for i in range(1, 4)
    ]
    beds[0] = {**beds[0], "status": "occupied", "patient": dict(ON_BOARD)}
    return [Ward("w1", "Ward One", beds), Ward("w2", "Ward Two", [{"id": "B01", "status": "empty", "patient": None}])]


def patches(p: Plan) -> list[tuple[str, str, BedPatch]]:
    """The plan's bed patches (no moves)."""
    out = [(w, b, patch) for w, b, patch in p.changes.items if isinstance(patch, BedPatch)]
    assert len(out) == len(p.changes.items)
    return out


def plan(*entries: dict[str, Any], may: str = "w1") -> Plan:
    return plan_transaction(transaction(*entries), wards(), lambda w: w == may)


def refusal(*entries: dict[str, Any], may: str = "w1") -> FhirError:
    with pytest.raises(FhirError) as exc:
        plan(*entries, may=may)
    return exc.value


def test_an_admission_with_its_news2() -> None:
    grace = patient("urn:uuid:1", "Grace Hopper", "9434765870", gender="female", birthDate="1906-12-09")
    p = plan(grace, encounter("urn:uuid:1", "w1.B02", start="2026-12-01T07:00:00Z"), news2("urn:uuid:1", 7, red=True))
    [(ward, bed, patch)] = patches(p)
    assert (ward, bed, patch.admit, patch.status) == ("w1", "B02", True, "occupied")
    assert patch.patient["name"] == "Grace Hopper" and patch.patient["sex"] == "F"
    assert patch.patient["date_of_birth"] == "1906-12-09" and patch.patient["admitted_at"] == "2026-12-01T07:00:00.000Z"
    assert (patch.patient["news2"]["score"], patch.patient["news2"]["red_score"]) == (7, True)
    assert p.answers[0] == ("201 Created", f"Patient/{patient_id(patch.patient)}")
    assert p.answers[1][0] == "201 Created" and p.answers[2][0] == "200 OK"


def test_bed_states_and_an_update_of_the_patient_on_the_board() -> None:
    p = plan(bed_state("w1.B03", "H"), bed_state("w1.B01", "I"), patient("urn:uuid:9", "Ada Lovelace", "9434765919",
             gender="female"))  # fmt: skip
    changes = {(w, b): patch for w, b, patch in patches(p)}
    assert changes[("w1", "B03")].status == "cleaning"
    ada = changes[("w1", "B01")]
    assert ada.status == "occupied" and not ada.admit
    assert ada.patient == {
        "name": "Ada Lovelace",
        "nhs_number": "9434765919",
        "sex": "F",
        "flags": ["falls", "isolation"],
    }


def test_a_discharge_by_nhs_number() -> None:
    p = plan(patient("urn:uuid:2", "Ada Lovelace", "9434765919"), encounter("urn:uuid:2", "w1.B01", "finished"))
    [(_, bed, patch)] = patches(p)
    assert bed == "B01" and patch.patient is None


def test_refusals_name_the_entry() -> None:
    other = refusal(patient("urn:uuid:3", "Alan Turing"), encounter("urn:uuid:3", "w1.B01"))
    assert (other.status, other.code, other.expression) == (422, "conflict", "Bundle.entry[1]")
    scope = refusal(bed_state("w2.B01", "C"))
    assert scope.status == 403
    assert refusal(bed_state("w1.B09", "C")).status == 404
    assert refusal(bed_state("w1.B02", "X")).code == "code-invalid"
    assert refusal(encounter("Patient/nobody", "w1.B02")).status == 422
    assert refusal(patient("urn:uuid:5", "Nobody Here")).diagnostics.endswith("puts them in a bed")
    assert "name" in refusal(patient("urn:uuid:6", ""), encounter("urn:uuid:6", "w1.B02")).diagnostics
    assert (
        "red score"
        in refusal(patient("urn:uuid:7", "Ada Lovelace", "9434765919"), news2("urn:uuid:7", 2, True)).diagnostics
    )


def test_a_patient_put_in_another_bed_is_a_transfer_and_two_trading_beds_a_swap() -> None:
    ada = patient("urn:uuid:4", "Ada Lovelace", "9434765919", gender="female")
    moved = plan(ada, encounter("urn:uuid:4", "w1.B02"), news2("urn:uuid:4", 3))
    (ward, bed, move), (ward2, bed2, after) = moved.changes.items
    assert isinstance(after, BedPatch)
    assert (ward, bed, move) == ("w1", "B01", Move("w1", "B02"))  # the move first, from the bed Ada is in
    assert (ward2, bed2) == ("w1", "B02") and not after.admit  # then her new bed: sex and NEWS2 merged there
    assert after.patient["sex"] == "F" and after.patient["news2"]["score"] == 3
    across = plan_transaction(transaction(ada, encounter("urn:uuid:4", "w2.B01")), wards(), lambda w: True)
    assert across.changes.items[0] == ("w1", "B01", Move("w2", "B01"))
    assert refusal(ada, encounter("urn:uuid:4", "w2.B01"), may="w1").status == 403  # may not change the target ward
    board = wards()
    board[0].beds[1].update(status="occupied", patient={"name": "Alan Turing", "nhs_number": "9434765870"})
    alan = patient("urn:uuid:5", "Alan Turing", "9434765870")
    both = transaction(ada, encounter("urn:uuid:4", "w1.B02"), alan, encounter("urn:uuid:5", "w1.B01"))
    swap = plan_transaction(both, board, lambda w: True)
    assert swap.changes.items[0] == ("w1", "B01", Move("w1", "B02", swap=True))  # one swap, not two transfers
    assert [(b, patch.patient["name"]) for _w, b, patch in swap.changes.items[1:]] == [  # type: ignore[union-attr]
        ("B02", "Ada Lovelace"), ("B01", "Alan Turing")]  # fmt: skip
    twice = transaction(ada, encounter("urn:uuid:4", "w1.B02"), encounter("urn:uuid:4", "w1.B03"))
    with pytest.raises(FhirError) as exc:
        plan_transaction(twice, wards(), lambda w: True)
    assert exc.value.expression == "Bundle.entry[2]"


@pytest.mark.parametrize(
    ("bundle", "status"),
    [
        ({"resourceType": "Patient"}, 400),
        ({"resourceType": "Bundle", "type": "batch", "entry": [bed_state("w1.B02", "C")]}, 422),
        ({"resourceType": "Bundle", "type": "transaction"}, 422),
        ({"resourceType": "Bundle", "type": "transaction", "entry": [{"resource": {"resourceType": "Location"}}]}, 422),
        ({"resourceType": "Bundle", "type": "transaction", "timestamp": "yesterday"}, 400),
        (transaction({**bed_state("w1.B02", "C"), "request": {"method": "DELETE", "url": "Location/w1.B02"}}), 422),
    ],
)
def test_what_is_not_a_transaction_we_take(bundle: dict[str, Any], status: int) -> None:
    with pytest.raises(FhirError) as exc:
        plan_transaction(bundle, wards(), lambda w: True)
    assert exc.value.status == status


def test_vital_signs_are_one_charted_set_after_the_admission() -> None:
    """All of one subject's vital-sign Observations are one set, charted after the Bundle's patches, on the
    bed the Bundle puts them in; the server scores it (here RR 25: 3)."""
    p = plan(
        *vital_signs("urn:uuid:g", {"9279-1": (25, "/min")}, at="2026-12-01T09:00:00Z"),
        patient("urn:uuid:g", "Grace Hopper", "9434765870"),
        encounter("urn:uuid:g", "w1.B02"),
    )
    admit, charted = p.changes.items
    assert admit[:2] == ("w1", "B02") and isinstance(admit[2], BedPatch)
    assert charted[:2] == ("w1", "B02") and isinstance(charted[2], ObservationRecord)
    rec = charted[2]
    assert rec.result.score == 3 and rec.scale_from_record and rec.obs.spo2_scale == 1
    assert rec.expect == {"nhs_number": "9434765870"}
    assert rec.recorded_at.isoformat() == "2026-12-01T09:00:00+00:00"
    assert [a[0] for a in p.answers[:7]] == ["201 Created"] * 7


def test_vital_signs_for_a_patient_on_the_board_and_the_refusals() -> None:
    ada = f"Patient/{patient_id(ON_BOARD)}"
    [(ward, bed, rec)] = plan(*vital_signs(ada)).changes.items
    assert (ward, bed) == ("w1", "B01") and isinstance(rec, ObservationRecord) and rec.result.score == 0
    assert rec.expect == {"nhs_number": "9434765919"}  # judged again in the transaction against the bed
    with pytest.raises(FhirError) as err:
        plan(*vital_signs(ada)[:-1])  # no BP panel
    assert err.value.status == 422 and "systolic blood pressure" in err.value.diagnostics
    with pytest.raises(FhirError) as err:
        plan(*vital_signs(ada), news2(ada, 4))
    assert err.value.status == 422 and "both a NEWS2 total and vital signs" in err.value.diagnostics
    with pytest.raises(FhirError) as err:
        plan(*vital_signs(ada, at="2999-01-01T00:00:00Z"))
    assert "in the future" in err.value.diagnostics
