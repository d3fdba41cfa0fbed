"""Credentials: tokens are minted and hashed here (only the hash is stored), then inserted, found, listed, revoked."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any, Final

from sqlalchemy import Connection, insert, select, update

from whiteboard.domain.clock import as_utc
from whiteboard.store import audit
from whiteboard.store.models import CREDENTIALS as _C
from whiteboard.store.rows import Actor, CredentialRow

TOKEN_PREFIX: Final = "wbt_"


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def insert_credential(
    conn: Connection,
    cred_id: str,
    token_hash: str,
    role: str,
    wards: tuple[str, ...] | None,
    label: str,
    actor: Actor,
    now: dt.datetime,
) -> None:
    conn.execute(
        insert(_C).values(
            id=cred_id,
            token_hash=token_hash,
            role=role,
            wards=list(wards) if wards is not None else None,
            label=label,
            created_at=now,
        )
    )
    audit.append(
        conn,
        at=now,
        **actor.audit_fields(),
        action="credential.created",
        after={"id": cred_id, "role": role, "wards": list(wards) if wards else None, "label": label},
    )


def _cred(r: Any) -> CredentialRow:
    return CredentialRow(
        r.id,
        r.role,
        tuple(r.wards) if r.wards is not None else None,
        r.label,
        as_utc(r.created_at),
        as_utc(r.revoked_at),
    )


def find_credential(conn: Connection, token_hash: str) -> CredentialRow | None:
    row = conn.execute(select(_C).where(_C.c.token_hash == token_hash)).first()
    return _cred(row) if row is not None else None


def list_credentials(conn: Connection) -> list[CredentialRow]:
    return [_cred(r) for r in conn.execute(select(_C).order_by(_C.c.created_at)).all()]


def revoke_credential(conn: Connection, cred_id: str, actor: Actor, now: dt.datetime) -> bool:
    done = conn.execute(update(_C).where(_C.c.id == cred_id, _C.c.revoked_at.is_(None)).values(revoked_at=now)).rowcount
    if done:
        audit.append(
            conn,
            at=now,
            actor=actor.name,
            credential_id=actor.credential_id,
            role=actor.role,
            source=actor.source,
            action="credential.revoked",
            after={"id": cred_id},
        )
    return bool(done)
