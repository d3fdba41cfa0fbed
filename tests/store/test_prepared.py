"""`Prepared` runs a Core statement on SQLite's cursor: the same stored values and rows as `Connection.execute`,
and the driver's errors as SQLAlchemy's (so `Store` still answers 503)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import orjson
import pytest
from sqlalchemy import bindparam, create_engine, insert, select, update
from sqlalchemy.exc import OperationalError

from whiteboard.store.models import BEDS, OUTBOX, WARDS, Base
from whiteboard.store.prepared import Prepared

NOW = dt.datetime(2026, 12, 1, 20, 0, 1, 123456, tzinfo=dt.UTC)


def engine(tmp_path: Path):  # type: ignore[no-untyped-def]
    eng = create_engine(f"sqlite:///{tmp_path / 'p.db'}", json_serializer=lambda o: orjson.dumps(o).decode())
    Base.metadata.create_all(eng)
    with eng.begin() as conn:
        conn.execute(
            insert(WARDS).values(id="w", uid="u", name="W", seq=0, created_at=NOW, audit_pos=0, audit_head="0")
        )
        conn.execute(insert(BEDS).values(ward_id="w", id="b1", bay="Bay"))
        conn.execute(insert(BEDS).values(ward_id="w", id="b2", bay="Bay"))
    return eng


UPD = (
    update(BEDS)
    .where(BEDS.c.ward_id == bindparam("ward"), BEDS.c.id == bindparam("bed"))
    .values(notes=bindparam("notes"), patient=bindparam("patient"), updated_at=bindparam("now"))
)
SEL = select(BEDS.c.notes, BEDS.c.patient, BEDS.c.updated_at, BEDS.c.seq).where(
    BEDS.c.ward_id == bindparam("ward"), BEDS.c.id == bindparam("bed")
)
RAW = select(BEDS.c.patient.cast(BEDS.c.notes.type), BEDS.c.updated_at.cast(BEDS.c.notes.type))


@pytest.mark.parametrize("patient", [{"name": "Ann Example", "news2": {"score": 3}}, None])
def test_the_same_values_as_sqlalchemy(tmp_path: Path, patient: object) -> None:
    eng = engine(tmp_path)
    params = {"ward": "w", "notes": "n", "patient": patient, "now": NOW}
    with eng.begin() as conn:
        conn.execute(UPD, {**params, "bed": "b1"})
        Prepared(UPD).execute(conn, {**params, "bed": "b2"})
    with eng.begin() as conn:
        stored = [tuple(r) for r in conn.execute(RAW.where(BEDS.c.ward_id == "w").order_by(BEDS.c.id)).all()]
        assert stored[0] == stored[1]  # byte for byte what SQLAlchemy would have stored
        ours = Prepared(SEL).first(conn, {"ward": "w", "bed": "b2"})
        theirs = conn.execute(SEL, {"ward": "w", "bed": "b1"}).first()
        assert tuple(ours) == tuple(theirs) and ours.patient == patient and ours.notes == "n"
        assert Prepared(SEL).first(conn, {"ward": "w", "bed": "nope"}) is None


def test_an_insert_names_its_columns(tmp_path: Path) -> None:
    eng = engine(tmp_path)
    row = {"ward_id": "w", "seq": 1, "log": "l", "payload": b'{"a":1}', "created_at": NOW}
    with eng.begin() as conn:
        Prepared(insert(OUTBOX), list(row)).execute(conn, row)
        assert conn.execute(select(OUTBOX.c.payload, OUTBOX.c.created_at)).one() == (
            b'{"a":1}',
            NOW.replace(tzinfo=None),
        )


def test_a_driver_error_is_sqlalchemys(tmp_path: Path) -> None:
    eng = engine(tmp_path)
    with eng.begin() as conn:
        conn.exec_driver_sql("DROP TABLE beds")
    with eng.begin() as conn, pytest.raises(OperationalError, match="no such table"):
        Prepared(SEL).first(conn, {"ward": "w", "bed": "b1"})
