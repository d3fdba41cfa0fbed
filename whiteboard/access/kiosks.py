"""Kiosk enrolment: an admin makes a short-lived pairing code for a ward; the wall screen types it once
at /login and receives its own long-lived, revocable `display` credential and a session.

Codes are 8 characters from an alphabet without look-alikes (no 0/O, 1/I/L), shown as `ABCD-EFGH`:
40 bits, single use, valid for `PAIRING_TTL_SECS`, stored only as a hash, and guessing is throttled
by the sign-in limiter. Nobody types a 43-character token on a wall.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Final

from sqlalchemy import Connection, insert, select, update

from whiteboard.domain.clock import as_utc, iso, utc_now
from whiteboard.errors import NotFound
from whiteboard.store import Actor, Store, audit_append, hash_token, insert_credential, new_token
from whiteboard.store.models import CREDENTIALS as _C
from whiteboard.store.models import PAIRING_CODES as _P
from whiteboard.store.models import WARDS as _W

ALPHABET: Final = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
PAIRING_TTL_SECS: Final = 15 * 60


def normalise(code: str) -> str:
    """What a person typed, forgiving case, spaces and the dash."""
    return "".join(ch for ch in code.upper() if ch in ALPHABET)


def looks_like_code(text: str) -> bool:
    return len(normalise(text)) == 8 and not text.startswith("wbt_")


@dataclass(frozen=True, slots=True)
class DisplayRow:
    id: str
    ward: str
    label: str
    created_at: dt.datetime
    revoked: bool


class Kiosks:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def new_code(self, ward_id: str, label: str, actor: Actor) -> tuple[str, dt.datetime]:
        code = "".join(secrets.choice(ALPHABET) for _ in range(8))
        expires = utc_now() + dt.timedelta(seconds=PAIRING_TTL_SECS)
        await self._store.write(_insert_code, hash_token(code), ward_id, label, actor, expires)
        return f"{code[:4]}-{code[4:]}", expires

    async def redeem(self, typed: str) -> tuple[str, str] | None:
        """(credential id, its token) for a valid, unused, unexpired code; None otherwise. Single use.

        The audit records name the screen itself (its label and new credential, source `pairing`): only
        the code's holder acts here; the admin who made the code is in the `display.pairing_code` record."""
        token = new_token()
        cred_id = secrets.token_hex(8)
        ok: bool = await self._store.write(_redeem, hash_token(normalise(typed)), cred_id, hash_token(token), utc_now())
        return (cred_id, token) if ok else None

    async def list(self) -> list[DisplayRow]:
        return await self._store.read(_list_displays)

    async def rename(self, cred_id: str, label: str, actor: Actor) -> bool:
        return await self._store.write(_rename, cred_id, label, actor, utc_now())


def _insert_code(
    conn: Connection, code_hash: str, ward_id: str, label: str, actor: Actor, expires: dt.datetime
) -> None:
    if conn.execute(select(_W.c.id).where(_W.c.id == ward_id)).first() is None:
        raise NotFound(f"there is no ward {ward_id!r}")
    now = utc_now()
    conn.execute(
        insert(_P).values(code_hash=code_hash, ward_id=ward_id, label=label, created_at=now, expires_at=expires)
    )
    audit_append(
        conn,
        at=now,
        **actor.audit_fields(),
        action="display.pairing_code",
        ward_id=ward_id,
        after={"label": label, "expires_at": iso(expires)},
    )


def _redeem(conn: Connection, code_hash: str, cred_id: str, token_hash: str, now: dt.datetime) -> bool:
    row = conn.execute(select(_P).where(_P.c.code_hash == code_hash).with_for_update()).first()
    if row is None or row.used_at is not None:
        return False
    expires = as_utc(row.expires_at)
    if now >= expires:
        return False
    conn.execute(update(_P).where(_P.c.code_hash == code_hash).values(used_at=now, credential_id=cred_id))
    screen = Actor(row.label, "display", cred_id, source="pairing")
    insert_credential(conn, cred_id, token_hash, "display", (row.ward_id,), row.label, screen, now)
    audit_append(
        conn,
        at=now,
        **screen.audit_fields(),
        action="display.enrolled",
        ward_id=row.ward_id,
        after={"credential": cred_id},
    )
    return True


def _list_displays(conn: Connection) -> list[DisplayRow]:
    rows = conn.execute(select(_C).where(_C.c.role == "display").order_by(_C.c.created_at)).all()
    return [DisplayRow(r.id, (r.wards or ["?"])[0], r.label, r.created_at, r.revoked_at is not None) for r in rows]


def _rename(conn: Connection, cred_id: str, label: str, actor: Actor, now: dt.datetime) -> bool:
    old = conn.execute(select(_C.c.label).where(_C.c.id == cred_id, _C.c.role == "display")).first()
    if old is None:
        return False
    conn.execute(update(_C).where(_C.c.id == cred_id).values(label=label))
    audit_append(
        conn,
        at=now,
        **actor.audit_fields(),
        action="display.renamed",
        before={"id": cred_id, "label": old.label},
        after={"id": cred_id, "label": label},
    )
    return True
