"""Credentials and the one place that decides what a credential may do.

Tokens are 256-bit random secrets; only their SHA-256 is stored (a high-entropy secret needs no slow
hash, and a lookup must not cost a write its CPU budget). Verified credentials are cached for a few
seconds, so a burst of writes costs no database read, and revocation still takes effect quickly.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final

from whiteboard.errors import ApiError
from whiteboard.store import TOKEN_PREFIX, Store, StoreUnavailable, hash_token

# Least to most; `ops` stands beside the ladder with no patient data at all.
LADDER: Final = ("display", "viewer", "nurse", "ward_manager", "admin")
ROLES: Final = (*LADDER, "ops")
SESSION_PREFIX: Final = "wbs_"  # a browser session's secret (accounts.py), held in the cookie
COOKIE_NAME: Final = "wb_session"


@dataclass(frozen=True, slots=True)
class Principal:
    credential_id: str
    role: str
    wards: tuple[str, ...] | None  # None: every ward
    label: str

    @property
    def name(self) -> str:
        return self.label or f"{self.role} {self.credential_id}"

    def at_least(self, role: str) -> bool:
        return self.role in LADDER and LADDER.index(self.role) >= LADDER.index(role)

    def covers(self, ward_id: str) -> bool:
        return self.wards is None or ward_id in self.wards

    def can_read_ward(self, ward_id: str) -> bool:
        return self.at_least("display") and self.covers(ward_id)

    def can_write_ward(self, ward_id: str) -> bool:
        return self.at_least("nurse") and self.covers(ward_id)

    @property
    def sees_metrics(self) -> bool:
        return self.role in {"ops", "admin"}


def validate_role_scope(role: str, wards: tuple[str, ...] | None) -> None:
    """Refuse credentials the contract does not allow, with what to do instead."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; choose one of: {', '.join(ROLES)}")
    if role == "display" and (wards is None or len(wards) != 1):
        raise ValueError("a display credential covers exactly one ward: pass --ward WARD once")
    if role == "ops" and wards:
        raise ValueError("an ops credential sees no ward data, so it takes no --ward")


class Authenticator:
    """Token → Principal, cached for `ttl` seconds (positive and negative answers alike)."""

    def __init__(
        self,
        store: Store,
        ttl: float,
        sessions: Callable[[str], Awaitable[Principal | None]] | None = None,
        *,
        stale_secs: float = 0.0,
    ) -> None:
        self._store = store
        self._ttl = ttl
        self._sessions = sessions
        self._stale = stale_secs  # how long an answer may serve while the database cannot be asked
        self._cache: dict[str, tuple[float, Principal | None]] = {}

    async def authenticate(self, token: str | None) -> Principal | None:
        if not token or len(token) > 200 or not token.startswith((TOKEN_PREFIX, SESSION_PREFIX)):
            return None
        digest = hash_token(token)
        now = time.monotonic()
        hit = self._cache.get(digest)
        if hit is not None and hit[0] > now:
            return hit[1]
        try:
            principal = await self._look_up(token, digest)
        except StoreUnavailable:
            # Reads are served from memory while the database is down (a ward's boards must stay up); a
            # credential verified recently enough keeps its access meanwhile (revoking it needs the database).
            if hit is not None and now - (hit[0] - self._ttl) <= self._stale:
                return hit[1]
            raise
        if len(self._cache) > 10_000:  # bounded: a flood of forged tokens cannot grow it without limit
            self._cache.clear()
        self._cache[digest] = (now + self._ttl, principal)
        return principal

    async def _look_up(self, token: str, digest: str) -> Principal | None:
        if token.startswith(SESSION_PREFIX):
            return await self._sessions(token) if self._sessions is not None else None
        row = await self._store.find_credential(digest)
        if row is not None and row.revoked_at is None:
            return Principal(row.id, row.role, row.wards, row.label)
        return None

    def forget(self, token: str | None = None) -> None:
        """Drop cached answers (one token's, or all) so a sign-out or revocation here applies at once."""
        if token is None:
            self._cache.clear()
        else:
            self._cache.pop(hash_token(token), None)


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def unauthorized(message: str = "sign in: send Authorization: Bearer TOKEN or use the login page") -> ApiError:
    return ApiError(401, "unauthorized", message, headers={"WWW-Authenticate": 'Bearer realm="whiteboard"'})


def forbidden(message: str) -> ApiError:
    return ApiError(403, "forbidden", message)
