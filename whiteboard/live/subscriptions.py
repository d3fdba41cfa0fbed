"""The FHIR Subscriptions an instance holds, and the short-lived binding tokens a websocket redeems.

Kept in memory by the instance that created them (not in the database): a Subscription here is a live push to a
connected system, which re-creates it after a restart of the server (docs/FHIR.md says so). Bounded, so a
client cannot grow it without limit: a few per credential, a ceiling for the instance.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Final

from whiteboard.types import JSONDict

PER_CREDENTIAL_MAX: Final = 10
INSTANCE_MAX: Final = 1000
TOKEN_TTL_SECS: Final = 300.0  # long enough to open a socket, short enough that a leaked one soon means nothing
TOKEN_PREFIX: Final = "wbws_"


@dataclass(slots=True)
class FhirSubscription:
    """One Subscription: whose it is (the credential decides what it may see), the ward, what a notification holds."""

    id: str
    credential_id: str
    role: str
    ward_id: str
    topic: str
    content: str  # empty | id-only | full-resource (Backport IG payload content)
    heartbeat_secs: int
    resource: JSONDict
    name: str  # who, for the audit trail
    # The credential it was created with: the socket re-checks it, so a revoked credential stops its pushes soon.
    token: str = field(repr=False)
    events: int = 0  # events-since-subscription-start


@dataclass
class Subscriptions:
    subscriptions: dict[str, FhirSubscription] = field(default_factory=dict)
    tokens: dict[str, tuple[float, str, str]] = field(default_factory=dict)  # token → (expires, sub id, credential)

    def add(self, sub: FhirSubscription) -> bool:
        """False when the credential or the instance holds as many as allowed."""
        mine = sum(1 for s in self.subscriptions.values() if s.credential_id == sub.credential_id)
        if mine >= PER_CREDENTIAL_MAX or len(self.subscriptions) >= INSTANCE_MAX:
            return False
        self.subscriptions[sub.id] = sub
        return True

    def get(self, sub_id: str, credential_id: str) -> FhirSubscription | None:
        """Only the credential that created a Subscription sees it."""
        sub = self.subscriptions.get(sub_id)
        return sub if sub is not None and sub.credential_id == credential_id else None

    def mint_token(self, sub: FhirSubscription) -> tuple[str, float]:
        now = time.monotonic()
        self.tokens = {t: v for t, v in self.tokens.items() if v[0] > now}
        token = TOKEN_PREFIX + secrets.token_urlsafe(24)
        self.tokens[token] = (now + TOKEN_TTL_SECS, sub.id, sub.credential_id)
        return token, TOKEN_TTL_SECS

    def redeem(self, token: str) -> FhirSubscription | None:
        """Once: a binding token opens one socket."""
        found = self.tokens.pop(token, None)
        if found is None or found[0] <= time.monotonic():
            return None
        return self.get(found[1], found[2])
