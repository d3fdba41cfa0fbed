"""Load-test results a deployment was shown: stored with an audit record, listed newest run first."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, insert, select

from whiteboard.domain.clock import as_utc, iso
from whiteboard.store import audit
from whiteboard.store.models import LOAD_TESTS as _L
from whiteboard.store.rows import Actor
from whiteboard.types import JSONDict

FIELDS = ("finished_at", "profile", "monthly_multiple", "thresholds_passed", "requests", "failures", "p99_ms",
          "report_name")  # fmt: skip


def insert_load_test(conn: Connection, result: dict[str, Any], actor: Actor, now: dt.datetime) -> JSONDict:
    """Store one result (`finished_at` already a datetime) and audit it on the `_system` chain; returns it as
    stored."""
    finished: dt.datetime = as_utc(result["finished_at"])  # SQLite keeps the wall time only: store UTC
    row = {**{k: result.get(k) for k in FIELDS}, "finished_at": finished}
    new_id = conn.execute(insert(_L).values(**row, recorded_at=now, recorded_by=actor.name)).inserted_primary_key
    assert new_id is not None
    record_id = int(new_id[0])
    audit.append(
        conn,
        at=now,
        **actor.audit_fields(),
        action="load_test.recorded",
        after={"id": record_id, **row, "finished_at": iso(finished)},
    )
    return _record(conn.execute(select(_L).where(_L.c.id == record_id)).one())


def list_load_tests(conn: Connection, limit: int) -> list[JSONDict]:
    """The latest `limit` results, by when the run finished (then by arrival)."""
    rows = conn.execute(select(_L).order_by(_L.c.finished_at.desc(), _L.c.id.desc()).limit(limit)).all()
    return [_record(r) for r in rows]


def _record(r: Any) -> JSONDict:
    return {
        "id": r.id,
        "finished_at": iso(as_utc(r.finished_at)),
        "profile": r.profile,
        "monthly_multiple": float(r.monthly_multiple),
        "thresholds_passed": bool(r.thresholds_passed),
        "requests": int(r.requests),
        "failures": int(r.failures),
        "p99_ms": float(r.p99_ms),
        "report_name": r.report_name,
        "recorded_at": iso(as_utc(r.recorded_at)),
        "recorded_by": r.recorded_by,
    }
