"""The recorder's lost/duplicated check, on hand-made segments (it is what the load tests' zero rests on)."""

from __future__ import annotations

from pathlib import Path

from loadtest.record import Recorder


def recorder_with_writes(tmp_path: Path, *offsets: str) -> Recorder:
    rec = Recorder(tmp_path)
    for off in offsets:
        rec.wrote("w1", off)
    rec.wrote("w2", "9-0")  # another ward's write is no board's loss
    return rec


def test_every_write_in_a_segment_received_once_is_clean(tmp_path: Path) -> None:
    rec = recorder_with_writes(tmp_path, "1-0", "2-0", "3-0")
    seg = rec.new_segment("w1", "0-0")
    for off in ((1, 0), (2, 0), (3, 0)):
        seg.seen[off] = 1
    seg.last = (3, 0)
    assert rec.integrity()["lost"] == 0 and rec.integrity()["duplicated"] == 0


def test_a_missing_write_is_lost_and_a_repeat_is_duplicated(tmp_path: Path) -> None:
    rec = recorder_with_writes(tmp_path, "1-0", "2-0", "3-0")
    seg = rec.new_segment("w1", "0-0")
    seg.seen[(1, 0)] = 2
    seg.seen[(3, 0)] = 1
    seg.last = (3, 0)
    result = rec.integrity()
    assert result["lost"] == 1 and result["duplicated"] == 1 and result["lost_examples"] == ["w1: 2-0"]


def test_writes_before_the_snapshot_or_after_the_last_event_are_not_expected(tmp_path: Path) -> None:
    rec = recorder_with_writes(tmp_path, "1-0", "2-0", "3-0", "4-0")
    seg = rec.new_segment("w1", "1-0")  # the snapshot already holds 1-0
    seg.seen[(2, 0)] = 1
    seg.last = (2, 0)  # the run ended before 3-0 and 4-0 arrived
    assert rec.integrity()["lost"] == 0
