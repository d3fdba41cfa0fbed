"""The credentials CSV (`kind,ward,token,username,password`) and handing one to each simulated client.

`loadtest.seed` writes it for a trust it seeds; for `--host` an operator supplies their own (one row per
board with its display token and ward, one per nurse with username and password, or a nurse token).
Clients take rows round-robin per kind, so a board keeps its own credential unless there are more boards
than rows.
"""

from __future__ import annotations

import csv
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

KINDS = ("board", "nurse", "feed", "ops")


@dataclass
class Credentials:
    rows: dict[str, list[dict[str, str]]]
    _next: dict[str, Iterator[dict[str, str]]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> Credentials:
        with path.open(newline="") as f:
            rows = [dict(r) for r in csv.DictReader(f)]
        by_kind = {k: [r for r in rows if r.get("kind") == k] for k in KINDS}
        return cls(by_kind)

    def take(self, kind: str) -> dict[str, str]:
        if not self.rows.get(kind):
            raise LookupError(f"the credentials file has no {kind!r} rows")
        if kind not in self._next:
            self._next[kind] = itertools.cycle(self.rows[kind])
        return next(self._next[kind])

    def wards(self) -> list[str]:
        return sorted({r["ward"] for rows in self.rows.values() for r in rows if r.get("ward")})
