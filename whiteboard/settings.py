"""One settings object, built once at start-up and passed down explicitly.

`Settings.from_environ` is the only reader of `WHITEBOARD_*` variables; the CLI layers its flags on
top. Every limit lives here with the reason for its default, so tests lower them by constructing
`Settings(...)` rather than patching module constants.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ENV_PREFIX = "WHITEBOARD_"


def mask_url(url: str) -> str:
    """Hide the password of a DSN so it can be logged."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


@dataclass(frozen=True)
class Settings:
    # Where things live. The defaults are the embedded mode: a SQLite file and an in-process log.
    database_url: str = "sqlite:///whiteboard.db"
    redis_url: str | None = None
    redis_key_prefix: str = "wb"

    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "info"

    demo: bool = False
    # Changes per minute from the simulated feed; gentle enough that a board is readable.
    demo_rate: float = 20.0
    demo_seed: int | None = None

    # Events kept per ward. A busy ward changes ~2,000 times a day, so 10,000 covers days of
    # disconnection; anything older is answered with a fresh snapshot.
    stream_maxlen: int = 10_000
    # Frames queued for one WebSocket before it counts as a slow client and is closed (1013).
    # A whole ward changing at once is ~30 events; 256 leaves room for bursts and replays.
    ws_queue_size: int = 256
    heartbeat_secs: float = 15.0
    # Client-to-server frames are optional pings; anything larger is abuse.
    ws_max_message_bytes: int = 4096
    # permessage-deflate costs CPU per frame and memory per connection, and compressing secrets next to
    # attacker-chosen text leaks them (CRIME/BREACH-style); off unless an operator turns it on.
    ws_compression: bool = False
    # An upgrade that is neither accepted nor refused by then is closed, so a stalled handshake cannot
    # hold a file handle (the app's own checks answer in milliseconds).
    ws_handshake_secs: float = 10.0
    # A request's line and headers must all arrive within this of the connection opening (or of the request's
    # first byte): a client trickling headers cannot hold a socket for ever. Browsers send them in one packet.
    request_head_secs: float = 10.0
    # A bed update is a few hundred bytes; 64 KiB leaves room for long task lists.
    max_body_bytes: int = 64 * 1024
    events_page_max: int = 1000
    # Credentials are cached so a write costs no token lookup; revocation takes effect within this.
    credential_cache_secs: float = 5.0
    # Writes that arrive together share one transaction (group commit), each in its own savepoint.
    write_batch_max: int = 64
    # How often committed-but-unappended outbox rows are swept into the event log.
    outbox_sweep_secs: float = 1.0
    # How long a PATCH waits for its own event to reach this instance's view (read-your-writes).
    own_write_wait_secs: float = 2.0
    # Origins allowed for cookie-authenticated WebSockets; the server's own origin is always allowed.
    allowed_origins: tuple[str, ...] = ()
    # Per credential and instance: a nurse edits a few beds a minute; feeds and scripts get room to burst.
    write_rate_per_min: float = 600.0
    write_burst: int = 60
    # A board reconnecting with backoff needs a handful a minute; a loop of reconnects is refused. The burst
    # leaves room for a ward's boards sharing one credential to reconnect together after a restart.
    ws_connect_rate_per_min: float = 120.0
    ws_connect_burst: int = 60
    # A board with no frame for this long shows the full-screen "data as of" cover (DOMAIN.md, freshness).
    board_stale_secs: float = 30.0
    # The wards' local time zone (IANA name): the audit page shows times in it, with the UTC offset.
    timezone: str = "Europe/London"
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)
    # Staff sessions end after this long without a request, and after `session_max_age_secs` regardless.
    session_idle_secs: int = 30 * 60
    session_max_age_secs: int = 12 * 3600
    # Failed sign-ins per username and per client address; the rest are refused (429) and logged.
    login_failures_per_min: float = 5.0
    # OpenID Connect sign-in (oidc.py): off unless an issuer and a client id are set.
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = field(default=None, repr=False)
    oidc_scopes: str = "openid profile"
    oidc_role_claim: str = "whiteboard_role"
    oidc_wards_claim: str = "whiteboard_wards"
    oidc_name: str = "your organisation's sign-in"
    migrate_on_start: bool = True
    # Test hook: exit the process right after a write commits and before it is appended to the log,
    # to prove the outbox relay loses and duplicates nothing. Never set in production.
    test_crash_after_commit: bool = False

    def __post_init__(self) -> None:
        self.zone  # noqa: B018 - refuse an unknown time zone when the settings are made, not on first use

    @property
    def zone(self) -> ZoneInfo:
        try:
            return ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"{ENV_PREFIX}TIMEZONE={self.timezone!r} is not a time zone; use an IANA name such as Europe/London"
            ) from exc

    @property
    def event_log_url(self) -> str:
        return self.redis_url or "memory://"

    def __repr__(self) -> str:
        shown = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.repr}
        shown["database_url"] = mask_url(self.database_url)
        if self.redis_url:
            shown["redis_url"] = mask_url(self.redis_url)
        return "Settings(" + ", ".join(f"{k}={v!r}" for k, v in shown.items()) + ")"

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Build settings from `WHITEBOARD_<FIELD>` variables, then apply explicit overrides."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            raw = env.get(ENV_PREFIX + f.name.upper())
            if raw is None or raw == "":
                continue
            values[f.name] = _convert(f.name, f.type, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


def _convert(name: str, typ: Any, raw: str) -> Any:
    t = str(typ)
    try:
        if t.startswith("bool"):
            if raw.lower() in {"1", "true", "yes", "on"}:
                return True
            if raw.lower() in {"0", "false", "no", "off"}:
                return False
            raise ValueError(raw)
        if t.startswith("int"):
            return int(raw)
        if t.startswith("float"):
            return float(raw)
        if t.startswith("tuple"):
            return tuple(x.strip() for x in raw.split(",") if x.strip())
    except ValueError:
        raise SystemExit(f"{ENV_PREFIX}{name.upper()}={raw!r} is not a valid {t}; fix or unset it") from None
    return raw
