"""The checker itself must be able to fail: each broken history below is one the guarantee forbids."""

from __future__ import annotations

from tests.faults.checker import Checker, Frame, WriteOutcome
from tests.faults.truth import AuditRow, BedRow, LogEntry, WardTruth

W = "ward-x"


def truth(seq: int = 2, notes: tuple[str, ...] = ("n1", "n2")) -> dict[str, WardTruth]:
    audit = [AuditRow(i + 1, "B01", "bed.updated", {"notes": n, "status": "empty"}) for i, n in enumerate(notes)]
    return {W: WardTruth(W, "u1", seq, {"B01": BedRow("B01", "empty", notes[-1], seq)}, audit)}


def log(seqs: list[int], epoch: str = "e1") -> dict[str, tuple[str | None, list[LogEntry]]]:
    return {W: (epoch, [LogEntry(s, epoch, {"changes": {"notes": f"n{s}"}}) for s in seqs])}


def checker_with(frames: list[list[Frame]], since: list[int | None] | None = None) -> Checker:
    c = Checker()
    c.writes += [WriteOutcome(W, "B01", f"n{i}", "empty", "ok", 200, i, i) for i in (1, 2)]
    client = c.client("c", W, "nurse")
    for i, fs in enumerate(frames):
        conn = client.open()
        conn.since = (since or [None] * len(frames))[i]
        conn.epoch = "e1" if conn.since is not None else None
        for f in fs:
            client.see(conn, f)
    return c


def snap(seq: int, recovered: bool | None = None, epoch: str = "e1") -> Frame:
    return Frame("snapshot", seq, epoch, recovered, beds={"B01": ("empty", f"n{seq}" if seq else "")})


def ev(seq: int, epoch: str = "e1") -> Frame:
    return Frame("event", seq, epoch, bed="B01", changes={"status": "empty", "notes": f"n{seq}"})


def test_a_clean_history_passes() -> None:
    c = checker_with([[snap(0), ev(1)], [ev(2), Frame("resumed", 2, "e1", True)]], since=[None, 1])
    assert c.verify(truth(), log([1, 2])) == [] and c.lagging(truth()) == []


def test_a_gap_a_repeat_and_a_silent_snapshot_are_caught() -> None:
    assert any("gap" in v for v in checker_with([[snap(0), ev(2)]]).verify(truth(), log([1, 2])))
    repeat = checker_with([[snap(0), ev(1)], [ev(1), ev(2)]], since=[None, 1])
    assert any("repeat" in v or "twice" in v for v in repeat.verify(truth(), log([1, 2])))
    silent = checker_with([[snap(0)], [snap(2)]], since=[None, 0])
    assert any("recovered:false" in v for v in silent.verify(truth(), log([1, 2])))


def test_lost_writes_holes_in_the_log_and_stale_boards_are_caught() -> None:
    c = checker_with([[snap(0), ev(1)]])
    assert c.lagging(truth()) != []  # the client never got event 2
    lost = c.verify(truth(seq=1, notes=("n1",)), log([1]))
    assert any("acknowledged write n2" in v for v in lost)
    assert any("hole" in v for v in c.verify(truth(), log([1, 3])))
    assert any("ends at" in v for v in c.verify(truth(), log([1])))


def test_a_refusal_that_wrote_or_lacks_the_error_body_is_caught() -> None:
    c = Checker()
    c.writes.append(WriteOutcome(W, "B01", "n2", "empty", "refused", 503, body={"detail": "no"}))
    found = c.verify(truth(), None)
    assert any("was written" in v for v in found) and any("error body" in v for v in found)


def test_a_discharge_clearing_the_notes_is_followed_by_the_board_model() -> None:
    """Hazard H60: the server clears notes the writer never sent (a discharge); the model follows the event's
    `changes`, and a board that kept the old notes is caught as not converged."""
    cleared = {W: WardTruth(W, "u1", 2, {"B01": BedRow("B01", "cleaning", "", 2)})}
    discharge = Frame("event", 2, "e1", bed="B01", changes={"status": "cleaning", "notes": "", "patient": None})
    c = checker_with([[snap(0), ev(1), discharge]])
    display = c.client("d", W, "display")
    conn = display.open()
    for f in (Frame("snapshot", 1, "e1", beds={"B01": ("empty", None)}), discharge):
        display.see(conn, f)
    assert c.lagging(cleared) == []
    kept = Frame("event", 2, "e1", bed="B01", changes={"status": "cleaning", "patient": None})
    assert checker_with([[snap(0), ev(1), kept]]).lagging(cleared) != []
