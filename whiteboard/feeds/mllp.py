"""MLLP framing (HL7 v2 minimal lower layer protocol): `<VT> message <FS><CR>`, as a sans-I/O parser.

A peer's bytes go in as they arrive (`Framer.feed`); whole frames come out, in order, however the bytes were
split across reads. What is not a frame is reported, never fatal: bytes outside a frame (junk between
frames) are skipped, a start block inside a frame means the earlier frame lost its end block (it is dropped
and reported), and a frame over the size limit is skipped to its end block, keeping only its head so the
sender can still be told which message was refused. Memory per connection stays under the limit.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final

START: Final = b"\x0b"
END: Final = b"\x1c\r"
HEAD_KEPT: Final = 4096  # of an oversized message: enough for its MSH segment (the ACK needs MSH-10)


def frame(message: bytes) -> bytes:
    """One message as it goes on the wire."""
    return START + message + END


class Fault(enum.Enum):
    JUNK = "bytes outside a frame were skipped"
    MISSING_END = "a frame had no end block before the next start block; it was dropped"
    TOO_LARGE = "a message was larger than the limit"


@dataclass(frozen=True, slots=True)
class Frame:
    payload: bytes


@dataclass(frozen=True, slots=True)
class Refused:
    """A frame that cannot be handled: why, and (for an oversized message) its first bytes."""

    fault: Fault
    head: bytes = b""
    size: int = 0


class Framer:
    """Turns a byte stream into frames; one per connection."""

    def __init__(self, max_bytes: int) -> None:
        self._max = max_bytes
        self._buf = bytearray()
        self._in_frame = False
        self._oversized = 0  # bytes of the current frame skipped past the limit (0: not oversized)
        self._head = b""
        self.started = 0  # frames begun so far (a new one restarts the caller's deadline)

    @property
    def in_frame(self) -> bool:
        """A frame has started and not ended (a deadline for its end applies)."""
        return self._in_frame

    @property
    def buffered(self) -> int:
        return len(self._buf)

    def feed(self, data: bytes) -> list[Frame | Refused]:
        out: list[Frame | Refused] = []
        self._buf += data
        while self._buf:
            if not self._in_frame:
                start = self._buf.find(START)
                if start < 0:
                    # Keep nothing of junk; a lone trailing byte cannot start a frame either.
                    out.append(Refused(Fault.JUNK, size=len(self._buf)))
                    self._buf.clear()
                    break
                if start > 0:
                    out.append(Refused(Fault.JUNK, size=start))
                del self._buf[: start + 1]
                self._in_frame, self._oversized, self._head = True, 0, b""
                self.started += 1
                continue
            if not self._scan_frame(out):
                break
        return out

    def _scan_frame(self, out: list[Frame | Refused]) -> bool:
        """Look for the end of the current frame; True when one ended (more may follow in the buffer)."""
        end = self._buf.find(END)
        restart = self._buf.find(START)
        if restart >= 0 and (end < 0 or restart < end):
            out.append(Refused(Fault.MISSING_END, size=restart))
            del self._buf[:restart]
            self._in_frame = False
            return True
        if end < 0:
            keep = 1 if self._buf.endswith(END[:1]) else 0  # an end block may be split across reads
            if self._oversized or len(self._buf) - keep > self._max:
                if not self._oversized:
                    self._head = bytes(self._buf[:HEAD_KEPT])
                self._oversized += len(self._buf) - keep
                del self._buf[: len(self._buf) - keep]
            return False
        size = self._oversized + end
        if self._oversized or end > self._max:
            out.append(Refused(Fault.TOO_LARGE, self._head or bytes(self._buf[:HEAD_KEPT]), size))
        else:
            out.append(Frame(bytes(self._buf[:end])))
        del self._buf[: end + len(END)]
        self._in_frame, self._oversized, self._head = False, 0, b""
        return True
