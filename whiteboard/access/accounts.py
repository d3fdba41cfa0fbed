"""Staff accounts (argon2 password hashes) and browser sessions.

A session cookie holds a random secret (`wbs_…`); the server keeps only its SHA-256 and decides
everything else: whose it is, when it idles out, when it expires, whether it was revoked. Staff
sessions have idle and absolute timeouts; a kiosk's session (enrolled with a display credential)
has neither, so a wall board never signs itself out, but revoking the credential ends it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Connection, insert, select, update

from whiteboard.access.auth import SESSION_PREFIX, Principal, validate_role_scope
from whiteboard.domain.clock import as_utc, utc_now
from whiteboard.store import Actor, Store, audit_append, hash_token
from whiteboard.store.models import CREDENTIALS as _C
from whiteboard.store.models import SESSIONS as _S
from whiteboard.store.models import USERS as _U
from whiteboard.types import JSONDict

PASSWORD_MIN_CHARS: Final = 12  # ASVS 5.0 V6.2.1
PASSWORD_MAX_CHARS: Final = 128
# Touch `last_seen_at` at most this often: idle timeouts need minutes, not a write per request.
TOUCH_EVERY_SECS: Final = 60
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")

Clock = Callable[[], dt.datetime]


class AccountError(ValueError):
    """A request about accounts that cannot be done as asked; the message says what to do."""


@dataclass(frozen=True, slots=True)
class UserRow:
    id: str
    username: str
    display_name: str
    role: str
    wards: tuple[str, ...] | None
    disabled: bool

    def principal(self) -> Principal:
        return Principal(f"user:{self.id}", self.role, self.wards, self.display_name)


def check_password(password: str) -> None:
    if len(password) < PASSWORD_MIN_CHARS:
        raise AccountError(f"the password is too short: use at least {PASSWORD_MIN_CHARS} characters")
    if len(password) > PASSWORD_MAX_CHARS:
        raise AccountError(f"the password is too long: at most {PASSWORD_MAX_CHARS} characters")


def _user(r: Any) -> UserRow:
    wards = tuple(r.wards) if r.wards is not None else None
    return UserRow(r.id, r.username, r.display_name, r.role, wards, r.disabled_at is not None)


class Accounts:
    """Users and sessions. `clock` gives "now" (UTC): tests pass one they advance instead of sleeping."""

    def __init__(self, store: Store, *, idle_secs: int, max_age_secs: int, clock: Clock = utc_now) -> None:
        self._store = store
        self._clock = clock
        self._hasher = PasswordHasher()
        self._idle = idle_secs
        self._max_age = max_age_secs
        # Verified against when the username is unknown, so a miss costs what a hit costs.
        self._dummy = self._hasher.hash(secrets.token_urlsafe(16))

    # --- users ---

    async def add_user(
        self,
        username: str,
        display_name: str,
        password: str,
        role: str,
        wards: tuple[str, ...] | None,
        *,
        actor: Actor,
    ) -> str:
        if not _USERNAME.fullmatch(username):
            raise AccountError("a username is 2–64 lower-case letters, digits, '.', '_' or '-'")
        if role == "display":
            raise AccountError("displays are enrolled with a display credential, not a user account")
        await check_scope(self._store, role, wards)
        check_password(password)
        digest = await asyncio.to_thread(self._hasher.hash, password)
        user_id = secrets.token_hex(8)
        created: bool = await self._store.write(
            _insert_user, user_id, username, display_name, digest, role, wards, actor, self._clock()
        )
        if not created:
            raise AccountError(f"the username {username!r} is taken")
        return user_id

    async def upsert_external_user(
        self, username: str, display_name: str, role: str, wards: tuple[str, ...] | None, *, actor: Actor
    ) -> UserRow:
        """The local account of someone an identity provider vouched for; role and wards follow the provider.

        `actor` is that person (source `oidc`): the provider, not an admin, decided the change."""
        row: UserRow = await self._store.write(
            _upsert_external, username, display_name, role, wards, actor, self._clock()
        )
        return row

    async def list_users(self) -> list[UserRow]:
        return await self._store.read(_list_users)

    async def disable_user(self, username: str, actor: Actor) -> None:
        if not await self._store.write(_disable_user, username, actor, self._clock()):
            raise AccountError(f"no active user {username!r}; see `whiteboard user list`")

    async def reset_password(self, username: str, password: str, actor: Actor) -> None:
        check_password(password)
        digest = await asyncio.to_thread(self._hasher.hash, password)
        if not await self._store.write(_set_password, username, digest, actor, self._clock()):
            raise AccountError(f"no user {username!r}; see `whiteboard user list`")

    async def verify_password(self, username: str, password: str) -> UserRow | None:
        """The user when the password matches and the account is enabled; None otherwise (same cost)."""
        name = username.strip().lower()
        # A name no account could have is not looked up (a NUL would make PostgreSQL refuse the query).
        row = await self._store.read(_find_user, name) if _USERNAME.fullmatch(name) else None
        digest = row[1] if row is not None else self._dummy
        try:
            await asyncio.to_thread(self._hasher.verify, digest, password[:PASSWORD_MAX_CHARS])
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        if row is None or row[0].disabled:
            return None
        return row[0]

    # --- sessions ---

    async def start_session(
        self, *, user_id: str | None = None, credential_id: str | None = None, kiosk: bool = False
    ) -> str:
        """A new session secret for the cookie. Kiosks get no idle or absolute timeout."""
        token = SESSION_PREFIX + secrets.token_urlsafe(32)
        now = self._clock()
        idle = None if kiosk else self._idle
        expires = None if kiosk else now + dt.timedelta(seconds=self._max_age)
        await self._store.write(_insert_session, hash_token(token), user_id, credential_id, idle, expires, now)
        return token

    async def resolve(self, token: str) -> Principal | None:
        return await self._store.write(_resolve_session, hash_token(token), self._clock())

    async def end_session(self, token: str, actor: Actor) -> None:
        """Sign out this browser; audited as `session.signed_out` when a session was open."""
        await self._store.write(_revoke_sessions, "id_hash", hash_token(token), self._clock(), actor, False)

    async def end_all_sessions(self, who: Principal, actor: Actor) -> int:
        """Sign out everywhere: every session of this person (or of this credential), audited."""
        kind, _, ident = who.credential_id.partition(":")
        column, value = ("user_id", ident) if kind == "user" else ("credential_id", who.credential_id)
        count: int = await self._store.write(_revoke_sessions, column, value, self._clock(), actor, True)
        return count

    async def audit_sign_in(self, actor: Actor, *, ok: bool, detail: JSONDict) -> None:
        """A sign-in (or a refused one) in the audit trail's `_system` chain, beside the security log.

        `detail` says how (method, client address, username tried): never a password, token or code."""
        action = "session.signed_in" if ok else "session.sign_in_failed"
        await self._store.write(_audit_system, action, actor, detail, self._clock())


async def check_scope(store: Store, role: str, wards: tuple[str, ...] | None) -> None:
    """The one check of a role and its wards, for the CLI and the admin pages alike: the contract's
    rules (`validate_role_scope`), and every ward named must exist (a typo would grant nothing)."""
    validate_role_scope(role, wards)
    if wards:
        known = {w.id for w in await store.list_wards()}
        missing = [w for w in wards if w not in known]
        if missing:
            raise AccountError(
                f"unknown ward(s): {', '.join(missing)}. Create them with `whiteboard ward add`, or check the spelling."
            )


# --- SQL (synchronous, one transaction each) ---


def _audit_system(conn: Connection, action: str, actor: Actor, detail: JSONDict, now: dt.datetime) -> None:
    audit_append(conn, at=now, **actor.audit_fields(), action=action, after=detail)


def _insert_user(
    conn: Connection,
    user_id: str,
    username: str,
    name: str,
    digest: str,
    role: str,
    wards: tuple[str, ...] | None,
    actor: Actor,
    now: dt.datetime,
) -> bool:
    if conn.execute(select(_U.c.id).where(_U.c.username == username)).first() is not None:
        return False
    conn.execute(
        insert(_U).values(
            id=user_id,
            username=username,
            display_name=name,
            password_hash=digest,
            role=role,
            wards=list(wards) if wards is not None else None,
            created_at=now,
            password_changed_at=now,
        )
    )
    audit_append(
        conn,
        at=now,
        **actor.audit_fields(),
        action="user.created",
        after={"id": user_id, "username": username, "role": role, "wards": list(wards) if wards else None},
    )
    return True


def _upsert_external(
    conn: Connection,
    username: str,
    name: str,
    role: str,
    wards: tuple[str, ...] | None,
    actor: Actor,
    now: dt.datetime,
) -> UserRow:
    value = list(wards) if wards is not None else None
    row = conn.execute(select(_U).where(_U.c.username == username)).first()
    if row is None:
        user_id = secrets.token_hex(8)
        # "!" is no argon2 hash: such an account can never sign in with a password.
        conn.execute(
            insert(_U).values(
                id=user_id,
                username=username,
                display_name=name,
                password_hash="!",
                role=role,
                wards=value,
                created_at=now,
                password_changed_at=now,
            )
        )
        audit_append(
            conn,
            at=now,
            **actor.audit_fields(),
            action="user.created",
            after={"username": username, "role": role, "wards": value},
        )
    elif (row.role, row.wards, row.display_name) != (role, value, name):
        conn.execute(update(_U).where(_U.c.id == row.id).values(role=role, wards=value, display_name=name))
        audit_append(
            conn,
            at=now,
            **actor.audit_fields(),
            action="user.updated",
            before={"role": row.role, "wards": row.wards},
            after={"role": role, "wards": value},
        )
    found = _find_user(conn, username)
    assert found is not None
    return found[0]


def _list_users(conn: Connection) -> list[UserRow]:
    return [_user(r) for r in conn.execute(select(_U).order_by(_U.c.username)).all()]


def _find_user(conn: Connection, username: str) -> tuple[UserRow, str] | None:
    r = conn.execute(select(_U).where(_U.c.username == username)).first()
    return (_user(r), r.password_hash) if r is not None else None


def _disable_user(conn: Connection, username: str, actor: Actor, now: dt.datetime) -> bool:
    row = conn.execute(select(_U.c.id).where(_U.c.username == username, _U.c.disabled_at.is_(None))).first()
    if row is None:
        return False
    conn.execute(update(_U).where(_U.c.id == row.id).values(disabled_at=now))
    conn.execute(update(_S).where(_S.c.user_id == row.id, _S.c.revoked_at.is_(None)).values(revoked_at=now))
    audit_append(conn, at=now, **actor.audit_fields(), action="user.disabled", after={"username": username})
    return True


def _set_password(conn: Connection, username: str, digest: str, actor: Actor, now: dt.datetime) -> bool:
    row = conn.execute(select(_U.c.id).where(_U.c.username == username)).first()
    if row is None:
        return False
    conn.execute(update(_U).where(_U.c.id == row.id).values(password_hash=digest, password_changed_at=now))
    # A new password ends every session that the old one opened.
    conn.execute(update(_S).where(_S.c.user_id == row.id, _S.c.revoked_at.is_(None)).values(revoked_at=now))
    audit_append(conn, at=now, **actor.audit_fields(), action="user.password_reset", after={"username": username})
    return True


def _insert_session(
    conn: Connection,
    id_hash: str,
    user_id: str | None,
    credential_id: str | None,
    idle: int | None,
    expires: dt.datetime | None,
    now: dt.datetime,
) -> None:
    conn.execute(
        insert(_S).values(
            id_hash=id_hash,
            user_id=user_id,
            credential_id=credential_id,
            created_at=now,
            last_seen_at=now,
            idle_secs=idle,
            expires_at=expires,
        )
    )


def _resolve_session(conn: Connection, id_hash: str, now: dt.datetime) -> Principal | None:
    s = conn.execute(select(_S).where(_S.c.id_hash == id_hash)).first()
    if s is None or s.revoked_at is not None:
        return None
    expires, seen = as_utc(s.expires_at), as_utc(s.last_seen_at)
    assert seen is not None
    if expires is not None and now >= expires:
        return None
    if s.idle_secs is not None and (now - seen).total_seconds() > s.idle_secs:
        return None
    principal: Principal | None = None
    if s.user_id is not None:
        u = conn.execute(select(_U).where(_U.c.id == s.user_id)).first()
        if u is not None and u.disabled_at is None:
            principal = _user(u).principal()
    elif s.credential_id is not None:
        c = conn.execute(select(_C).where(_C.c.id == s.credential_id)).first()
        if c is not None and c.revoked_at is None:
            wards = tuple(c.wards) if c.wards is not None else None
            principal = Principal(c.id, c.role, wards, c.label)
    if principal is not None and (now - seen).total_seconds() > TOUCH_EVERY_SECS:
        conn.execute(update(_S).where(_S.c.id_hash == id_hash).values(last_seen_at=now))
    return principal


def _revoke_sessions(
    conn: Connection, column: str, value: str, now: dt.datetime, actor: Actor, everywhere: bool
) -> int:
    done = int(
        conn.execute(update(_S).where(_S.c[column] == value, _S.c.revoked_at.is_(None)).values(revoked_at=now)).rowcount
    )
    if done or everywhere:
        action = "session.signed_out_everywhere" if everywhere else "session.signed_out"
        audit_append(conn, at=now, **actor.audit_fields(), action=action, after={"sessions": done})
    return done
