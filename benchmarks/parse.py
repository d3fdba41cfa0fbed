"""CPU cost of parsing one bed update (`parse_patch` on a decoded body): the wire models' validation plus the rules
that run while parsing (NHS check digit, dates, a bare NEWS2 score classified). Best of several repeats.

    .venv/bin/python benchmarks/parse.py
"""

from __future__ import annotations

import functools
import timeit
from typing import Any

from whiteboard.domain.beds import parse_patch

BODIES: dict[str, Any] = {
    "notes only (http_writes.py)": {"notes": "n123"},
    "notes + NEWS2 score (write_path.py)": {"notes": "note 7", "patient": {"news2": {"score": 5, "red_score": False}}},
    "full admission": {
        "status": "occupied",
        "patient": {
            "name": "Jane Synthetic",
            "nhs_number": "943 476 5919",
            "date_of_birth": "1941-03-02",
            "age": 85,
            "sex": "F",
            "edd": "2026-11-25",
            "flags": ["falls", "dnacpr"],
            "tasks": [{"kind": "bloods", "text": "FBC"}, {"kind": "tto", "done": True}],
        },
    },
}


def main() -> None:
    for name, body in BODIES.items():
        best = min(timeit.repeat(functools.partial(parse_patch, body), number=20_000, repeat=7)) / 20_000 * 1e6
        print(f"{name:40} {best:6.2f} µs")


if __name__ == "__main__":
    main()
