"""What one Locust run records beside Locust's own stats: every request's exact latency, and event integrity.

Locust's percentiles are bucketed (to 10 ms above 100 ms, 100 ms above 1 s) and its CSVs hold no WebSocket
bookkeeping, so the run keeps its own: one row per request (the runner computes exact percentiles and the
pictures from it), and, per board, which offsets it received against which offsets the writers were told
they wrote — the lost/duplicated check. One `Recorder` per run lives on the Locust `Environment`.
"""

from __future__ import annotations

import bisect
import gzip
import json
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Offset = tuple[int, int]


def parse_offset(raw: str) -> Offset:
    a, _, b = raw.partition("-")
    return int(a), int(b or 0)


@dataclass
class Segment:
    """One board's unbroken view of its ward: from a snapshot's offset, through every resume, to the last event."""

    ward: str
    start: Offset
    last: Offset
    seen: dict[Offset, int] = field(default_factory=dict)


@dataclass
class Recorder:
    out_dir: Path
    rows: list[tuple[float, str, str, float, int]] = field(default_factory=list)
    written: dict[str, list[Offset]] = field(default_factory=lambda: defaultdict(list))
    segments: list[Segment] = field(default_factory=list)
    conflicts: int = 0
    drops_unplanned: int = 0
    shape_result: dict[str, Any] = field(default_factory=dict)

    def on_request(self, request_type: str, name: str, response_time: float, exception: Any = None, **_: Any) -> None:
        self.rows.append((time.time(), request_type, name, float(response_time), 0 if exception is None else 1))

    def wrote(self, ward: str, offset: str) -> None:
        self.written[ward].append(parse_offset(offset))

    def new_segment(self, ward: str, offset: str) -> Segment:
        seg = Segment(ward, parse_offset(offset), parse_offset(offset))
        self.segments.append(seg)
        return seg

    def integrity(self) -> dict[str, Any]:
        """Lost = written to the ward within a segment's span but never received; duplicated = received twice."""
        lost = duplicated = delivered = 0
        examples: list[str] = []
        for seg in self.segments:
            offsets = sorted(self.written.get(seg.ward, ()))
            lo = bisect.bisect_right(offsets, seg.start)
            hi = bisect.bisect_right(offsets, seg.last)
            expected = set(offsets[lo:hi])
            missing = expected.difference(seg.seen)
            lost += len(missing)
            duplicated += sum(n - 1 for n in seg.seen.values() if n > 1)
            delivered += len(seg.seen)
            if missing and len(examples) < 5:
                examples.append(f"{seg.ward}: {'-'.join(map(str, min(missing)))}")
        return {
            "segments": len(self.segments),
            "delivered": delivered,
            "lost": lost,
            "duplicated": duplicated,
            "writes": sum(len(v) for v in self.written.values()),
            "conflicts_412": self.conflicts,
            "unplanned_drops": self.drops_unplanned,
            "lost_examples": examples,
        }

    def save(self) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        with gzip.open(self.out_dir / "requests.csv.gz", "wt") as f:
            f.write("t,type,name,ms,failed\n")
            for t, kind, name, ms, failed in self.rows:
                f.write(f"{t:.3f},{kind},{name.replace(',', ';')},{ms:.3f},{failed}\n")
        (self.out_dir / "integrity.json").write_text(json.dumps(self.integrity(), indent=2))
        (self.out_dir / "shape.json").write_text(json.dumps(self.shape_result, indent=2))
