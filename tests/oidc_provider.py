"""A small OpenID Connect provider the tests run on loopback: discovery, authorize (signs in whoever the
test chose, without a form), token (checks the client secret and PKCE), and JWKS. ID tokens are RS256
JWTs signed with a key made at start-up (joserfc)."""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from typing import Any
from urllib.parse import urlencode

import uvicorn
from joserfc import jwt
from joserfc.jwk import RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from tests.support import free_port

CLIENT_ID = "whiteboard-test"
CLIENT_SECRET = "test-secret-not-for-production"


class Provider:
    def __init__(self) -> None:
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.key = RSAKey.generate_key(2048, parameters={"kid": "test-key"})
        self.user: dict[str, Any] = {"sub": "u-1", "name": "Dr Test", "whiteboard_role": "nurse"}
        self.audience = CLIENT_ID  # a test may change it to make a token for another client
        self._codes: dict[str, dict[str, Any]] = {}
        self.app = Starlette(routes=[
            Route("/.well-known/openid-configuration", self.discovery),
            Route("/authorize", self.authorize),
            Route("/token", self.token, methods=["POST"]),
            Route("/jwks", self.jwks),
        ])  # fmt: skip
        self._server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning"))
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def __enter__(self) -> Provider:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the test OIDC provider did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(10)

    async def discovery(self, request: Request) -> Response:
        return JSONResponse({
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
        })  # fmt: skip

    async def authorize(self, request: Request) -> Response:
        q = request.query_params
        assert q["client_id"] == CLIENT_ID and q["response_type"] == "code"
        assert q["code_challenge_method"] == "S256" and q["nonce"]
        code = secrets.token_urlsafe(16)
        self._codes[code] = {"challenge": q["code_challenge"], "nonce": q["nonce"], "redirect_uri": q["redirect_uri"]}
        return RedirectResponse(q["redirect_uri"] + "?" + urlencode({"code": code, "state": q["state"]}), 302)

    async def token(self, request: Request) -> Response:
        form = await request.form()
        auth = request.headers.get("authorization", "")
        given = base64.b64decode(auth.split(" ", 1)[1]).decode() if auth.startswith("Basic ") else ""
        if given != f"{CLIENT_ID}:{CLIENT_SECRET}":
            return JSONResponse({"error": "invalid_client"}, 401)
        grant = self._codes.pop(str(form.get("code")), None)
        verifier = str(form.get("code_verifier", ""))
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
        if grant is None or challenge != grant["challenge"] or form.get("redirect_uri") != grant["redirect_uri"]:
            return JSONResponse({"error": "invalid_grant"}, 400)
        now = int(time.time())
        claims = {"iss": self.issuer, "aud": self.audience, "iat": now, "exp": now + 300, "nonce": grant["nonce"],
                  **self.user}  # fmt: skip
        id_token = jwt.encode({"alg": "RS256", "kid": "test-key"}, claims, self.key)
        return JSONResponse({"access_token": secrets.token_urlsafe(16), "token_type": "Bearer", "id_token": id_token})

    async def jwks(self, request: Request) -> Response:
        return JSONResponse({"keys": [self.key.as_dict(private=False)]})
