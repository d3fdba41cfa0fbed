from __future__ import annotations

import pytest

from whiteboard.domain import offsets
from whiteboard.eventlog import Entry
from whiteboard.eventlog.recovery import is_recovered


def entries(*seqs: int, epoch: str = "e") -> list[Entry]:
    return [Entry(s, epoch, b"{}") for s in seqs]


@pytest.mark.parametrize(
    ("after", "got", "want_epoch", "top", "ok"),
    [
        (3, entries(4, 5), None, 5, True),
        (3, entries(4, 5), "e", 5, True),
        (3, entries(4, 5), "other", 5, False),
        (3, entries(5, 6), None, 6, False),  # 4 was trimmed
        (3, entries(4, 6), None, 6, False),  # a hole
        (5, [], None, 5, True),  # nothing missed
        (4, [], None, 5, False),  # the log lost 5
        (7, [], None, 5, False),  # a client ahead of us: another incarnation
        (3, entries(4, epoch="x"), None, 4, False),
    ],
)
def test_is_recovered(after: int, got: list[Entry], want_epoch: str | None, top: int, ok: bool) -> None:
    assert is_recovered(after, got, epoch="e", want_epoch=want_epoch, top=top) is ok


def test_offsets_round_trip_and_refuse_junk() -> None:
    assert offsets.parse("12-0") == 12 and offsets.format(12) == "12-0"
    assert offsets.parse("1763800000000-0") == 1763800000000
    for bad in ("", "12", "-1-0", "a-b", "01-0", "1-0-0", "1 -0", "9" * 30 + "-0"):
        with pytest.raises(offsets.BadOffset):
            offsets.parse(bad)
