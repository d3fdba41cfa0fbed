"""OpenID Connect sign-in (authorization code with PKCE), so a trust can use NHS CIS2 or its own Entra ID.

authlib runs the OAuth flow (authorization URL, state, PKCE, code exchange); joserfc validates the
ID token (signature against the issuer's JWKS, issuer, audience, expiry, nonce). The role comes from
a configurable claim and must be a staff role; the wards from another (absent: every ward). A person
signing in this way gets a local account (`oidc:<sub>`) that cannot use a password, so an admin can
still disable them here, and a normal staff session.

The browser carries the flow's state between the two legs in a short-lived cookie signed with the
server's secret key; set `WHITEBOARD_SECRET_KEY` to the same value on every instance.

HTTP goes through httpx2, a runtime dependency: it is the client authlib's httpx integration prefers
(with only the older httpx it falls back and warns that the fallback is deprecated), so the server
starts without the test extras and without a deprecation warning.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any, Final, cast

import httpx2
import orjson
from authlib.integrations.httpx_client import AsyncOAuth2Client  # type: ignore[import-untyped]
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from whiteboard.access.accounts import Accounts, UserRow
from whiteboard.access.auth import LADDER
from whiteboard.settings import Settings
from whiteboard.store import Actor

FLOW_COOKIE: Final = "wb_oidc"
FLOW_TTL_SECS: Final = 10 * 60
METADATA_TTL_SECS: Final = 3600
HTTP_TIMEOUT_SECS: Final = 10.0


class OidcError(Exception):
    """The sign-in could not be completed; the message is safe to show."""


@dataclass(frozen=True)
class Flow:
    state: str
    nonce: str
    verifier: str
    next: str | None
    expires: float


class Oidc:
    def __init__(self, settings: Settings, accounts: Accounts) -> None:
        if not (settings.oidc_issuer and settings.oidc_client_id):
            raise ValueError("OIDC needs WHITEBOARD_OIDC_ISSUER and WHITEBOARD_OIDC_CLIENT_ID")
        self._s = settings
        self._accounts = accounts
        self._metadata: tuple[float, dict[str, Any]] | None = None

    @property
    def name(self) -> str:
        return self._s.oidc_name

    async def metadata(self) -> dict[str, Any]:
        if self._metadata is not None and self._metadata[0] > time.monotonic():
            return self._metadata[1]
        issuer = str(self._s.oidc_issuer).rstrip("/")
        data = await _get_json(issuer + "/.well-known/openid-configuration")
        if str(data.get("issuer", "")).rstrip("/") != issuer:
            raise OidcError("the identity provider's discovery document names another issuer")
        self._metadata = (time.monotonic() + METADATA_TTL_SECS, data)
        return data

    def _client(self, redirect_uri: str) -> AsyncOAuth2Client:
        return AsyncOAuth2Client(
            self._s.oidc_client_id,
            self._s.oidc_client_secret,
            scope=self._s.oidc_scopes,
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
            timeout=HTTP_TIMEOUT_SECS,
        )

    async def start(self, redirect_uri: str, next_path: str | None) -> tuple[str, str]:
        """(the provider's authorisation URL, the signed flow cookie)."""
        meta = await self.metadata()
        flow = Flow(
            secrets.token_urlsafe(24),
            secrets.token_urlsafe(24),
            secrets.token_urlsafe(48),
            next_path,
            time.time() + FLOW_TTL_SECS,
        )
        async with self._client(redirect_uri) as client:
            url, _ = client.create_authorization_url(
                meta["authorization_endpoint"], state=flow.state, nonce=flow.nonce, code_verifier=flow.verifier
            )
        return url, self._sign(flow)

    async def finish(self, redirect_uri: str, params: dict[str, str], cookie: str | None) -> tuple[UserRow, Flow]:
        flow = self._unsign(cookie)
        if "error" in params:
            raise OidcError(f"the identity provider refused: {params.get('error_description') or params['error']}")
        if not secrets.compare_digest(params.get("state", ""), flow.state):
            raise OidcError("the sign-in response does not belong to this browser's sign-in; start again")
        code = params.get("code")
        if not code:
            raise OidcError("the identity provider sent no authorisation code")
        meta = await self.metadata()
        try:
            async with self._client(redirect_uri) as client:
                token = await client.fetch_token(
                    meta["token_endpoint"], grant_type="authorization_code", code=code, code_verifier=flow.verifier
                )
        except Exception as exc:  # the provider refused the code: say so, never a 500
            raise OidcError(f"the identity provider did not accept the sign-in ({exc.__class__.__name__})") from exc
        claims = await self._validate(str(token.get("id_token", "")), flow.nonce, meta)
        role = claims.get(self._s.oidc_role_claim)
        if role not in LADDER or role == "display":
            raise OidcError(
                f"your account has no ward whiteboard role (claim {self._s.oidc_role_claim!r}); "
                "ask your IT team to grant one"
            )
        wards_claim = claims.get(self._s.oidc_wards_claim)
        wards = tuple(str(w) for w in wards_claim) if isinstance(wards_claim, list) else None
        name = str(claims.get("name") or claims.get("preferred_username") or claims["sub"])
        # The provider vouched for this person, so the audit of their account's change names them (source oidc).
        actor = Actor(name, str(role), None, source="oidc")
        user = await self._accounts.upsert_external_user(
            f"oidc:{claims['sub']}"[:100], name, str(role), wards, actor=actor
        )
        if user.disabled:
            raise OidcError("this account is disabled here; ask an admin")
        return user, flow

    async def _validate(self, id_token: str, nonce: str, meta: dict[str, Any]) -> dict[str, Any]:
        try:
            keys = KeySet.import_key_set(cast(Any, await _get_json(meta["jwks_uri"])))
            token = jwt.decode(id_token, keys, algorithms=["RS256", "ES256", "PS256"])
            registry = jwt.JWTClaimsRegistry(
                leeway=60,
                iss={"essential": True, "value": meta["issuer"]},
                aud={"essential": True, "value": str(self._s.oidc_client_id)},
                sub={"essential": True},
                exp={"essential": True},
                nonce={"essential": True, "value": nonce},
            )
            registry.validate(token.claims)
        except (JoseError, ValueError, KeyError) as exc:
            raise OidcError(f"the identity token was not valid ({exc.__class__.__name__})") from exc
        return dict(token.claims)

    def _sign(self, flow: Flow) -> str:
        body = base64.urlsafe_b64encode(orjson.dumps(flow.__dict__)).decode().rstrip("=")
        return body + "." + self._mac(body)

    def _mac(self, body: str) -> str:
        return hmac.new(self._s.secret_key.encode(), body.encode(), hashlib.sha256).hexdigest()

    def _unsign(self, cookie: str | None) -> Flow:
        body, _, mac = (cookie or "").partition(".")
        if not body or not hmac.compare_digest(mac, self._mac(body)):
            raise OidcError("this browser did not start the sign-in (or its cookie was lost); start again")
        data = orjson.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        flow = Flow(**data)
        if flow.expires < time.time():
            raise OidcError("the sign-in took too long; start again")
        return flow


async def _get_json(url: str) -> dict[str, Any]:
    try:
        async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT_SECS) as client:
            r = await client.get(url)
            r.raise_for_status()
            data: dict[str, Any] = r.json()
            return data
    except (httpx2.HTTPError, ValueError) as exc:
        raise OidcError(f"the identity provider does not answer ({exc.__class__.__name__})") from exc
