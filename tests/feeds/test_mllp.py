"""The MLLP framer: frames out whatever way the bytes arrive; junk, lost end blocks and oversized frames
reported, never fatal, memory bounded."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from whiteboard.feeds.mllp import END, START, Fault, Frame, Framer, Refused, frame

MSGS = [b"MSH|^~\\&|A|B|C|D|1||ADT^A01|1|P|2.5\rPID|1", b"MSH|^~\\&|second\r", b"x" * 300]


def feed_all(chunks: list[bytes], max_bytes: int = 1000) -> list[Frame | Refused]:
    framer = Framer(max_bytes)
    out: list[Frame | Refused] = []
    for c in chunks:
        out += framer.feed(c)
    return out


def frames(items: list[Frame | Refused]) -> list[bytes]:
    return [i.payload for i in items if isinstance(i, Frame)]


def test_many_frames_in_one_read() -> None:
    assert frames(feed_all([b"".join(frame(m) for m in MSGS)])) == MSGS


def test_frames_split_byte_by_byte() -> None:
    data = b"".join(frame(m) for m in MSGS)
    assert frames(feed_all([data[i : i + 1] for i in range(len(data))])) == MSGS


def test_junk_between_frames_is_skipped_and_reported() -> None:
    out = feed_all([b"junk\r\n" + frame(MSGS[0]) + b"\x00\xffmore" + frame(MSGS[1])])
    assert frames(out) == MSGS[:2]
    assert [i.fault for i in out if isinstance(i, Refused)] == [Fault.JUNK, Fault.JUNK]


def test_missing_end_block_drops_that_frame_only() -> None:
    out = feed_all([START + b"MSH|lost", frame(MSGS[1])])
    assert frames(out) == [MSGS[1]]
    assert [i.fault for i in out if isinstance(i, Refused)] == [Fault.MISSING_END]


def test_end_block_split_across_reads() -> None:
    assert frames(feed_all([START + MSGS[0] + b"\x1c", b"\r"])) == [MSGS[0]]


def test_oversized_frame_is_skipped_with_its_head_and_the_next_one_read() -> None:
    big = b"MSH|^~\\&|PAS|RXH|||20261201||ADT^A01|BIG1|P|2.5\r" + b"Z" * 50_000
    framer = Framer(1000)
    out: list[Frame | Refused] = []
    data = frame(big) + frame(MSGS[1])
    for i in range(0, len(data), 4096):
        out += framer.feed(data[i : i + 4096])
        assert framer.buffered <= 1000 + 4096  # never the whole message in memory
    refused = [i for i in out if isinstance(i, Refused)]
    assert len(refused) == 1 and refused[0].fault is Fault.TOO_LARGE and refused[0].size == len(big)
    assert refused[0].head.startswith(b"MSH|^~\\&|PAS|RXH") and b"BIG1" in refused[0].head
    assert frames(out) == [MSGS[1]]


@given(st.lists(st.binary(min_size=1, max_size=200).filter(lambda b: START not in b and END not in b), max_size=6),
       st.data())  # fmt: skip
@settings(max_examples=200, deadline=None)
def test_any_split_gives_the_same_frames(messages: list[bytes], data: st.DataObject) -> None:
    stream = b"".join(frame(m) for m in messages)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    chunks = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
    assert frames(feed_all(chunks, max_bytes=10_000)) == messages


@given(st.lists(st.binary(max_size=300), max_size=20))
@settings(max_examples=300, deadline=None)
def test_fuzz_never_crashes_and_stays_bounded(chunks: list[bytes]) -> None:
    framer = Framer(256)
    for c in chunks:
        for item in framer.feed(c):
            if isinstance(item, Frame):
                assert len(item.payload) <= 256 and START not in item.payload
        assert framer.buffered <= 256 + 300
