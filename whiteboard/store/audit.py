"""Tamper evidence for the audit trail: every record carries the hash of the one before it.

Records form one chain per ward (plus `_system` for credentials and other ward-less actions), so a
write extends its ward's chain under the ward lock it already holds and wards never wait on each
other. The head of each chain (position and hash) is stored apart from the records, so removing the
newest record is as visible as editing an old one. `whiteboard audit verify` walks every chain.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any, Final

import orjson

GENESIS: Final = "0" * 64
SYSTEM_CHAIN: Final = "_system"
# The fields a record's hash covers, in a fixed order; `hash` itself and the row id are not covered.
HASHED_FIELDS: Final = (
    "chain", "pos", "at", "actor", "credential_id", "role", "source", "action",
    "ward_id", "bed_id", "seq", "before", "after", "request_id", "prev_hash",
)  # fmt: skip


def canonical_time(at: dt.datetime) -> str:
    """Microseconds, UTC: what both SQLite and PostgreSQL give back unchanged."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC)
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def record_hash(record: dict[str, Any]) -> str:
    body = {k: record.get(k) for k in HASHED_FIELDS}
    if isinstance(body["at"], dt.datetime):
        body["at"] = canonical_time(body["at"])
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


def verify_chain(chain: str, records: list[dict[str, Any]], head: tuple[int, str]) -> str | None:
    """None when the chain is intact, else a sentence naming the first broken record."""
    prev, pos = GENESIS, 0
    for rec in records:
        pos += 1
        if rec["pos"] != pos:
            return f"record {rec['id']} of chain {rec['chain']!r} is at position {rec['pos']}, expected {pos}"
        if rec["prev_hash"] != prev:
            return f"record {rec['id']} of chain {rec['chain']!r} does not follow the record before it"
        if record_hash(rec) != rec["hash"]:
            return f"record {rec['id']} of chain {rec['chain']!r} was altered after it was written"
        prev = rec["hash"]
    if head != (pos, prev):
        return f"chain {chain!r} ends at position {pos}, but its head says {head[0]}: records are missing"
    return None
