"""One settings object, built once at start-up and passed down explicitly.

Each field is one setting: its type, its default (with the reason, in a comment), the help text the CLI shows and
the bounds it is checked against, whether it came from code, a `WHITEBOARD_<FIELD>` variable or a flag. The CLI
builds `serve`'s flags from the fields marked `flag` (`whiteboard.cli.options`), so a default, a type or a help
text is written once. A bad value is a `SettingsError` (a ValueError) naming the variable, for the caller to
report. Tests lower limits by constructing `Settings(...)`, never by patching module constants.
"""

from __future__ import annotations

import dataclasses
import math
import os
import secrets
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ENV_PREFIX: Final = "WHITEBOARD_"
LOG_LEVELS: Final = ("debug", "info", "warning", "error")


class SettingsError(ValueError):
    """A setting with a value it cannot take; the message names the variable and says what would do."""


def mask_url(url: str) -> str:
    """Hide the password of a DSN so it can be logged."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


def env_name(field_name: str) -> str:
    return ENV_PREFIX + field_name.upper()


def setting(
    default: Any = dataclasses.MISSING,
    *,
    help: str,
    factory: Callable[[], Any] | None = None,
    flag: bool = False,
    choices: tuple[str, ...] | None = None,
    minimum: float | None = None,
    maximum: float | None = None,
    above: float | None = None,
    secret: bool = False,
    internal: bool = False,
) -> Any:
    """A field with what the CLI and the checks need: `flag` makes it a `serve` option, `secret` keeps it out of
    repr and off the command line, `internal` (test hooks) out of the help."""
    metadata = {"help": help, "flag": flag, "choices": choices, "minimum": minimum, "maximum": maximum,
                "above": above, "secret": secret, "internal": internal}  # fmt: skip
    if factory is not None:
        return dataclasses.field(default_factory=factory, repr=not secret, metadata=metadata)
    return dataclasses.field(default=default, repr=not secret, metadata=metadata)


@dataclass(frozen=True)
class Settings:
    # Where things live. The defaults are the embedded mode: a SQLite file and an in-process log.
    database_url: str = setting(
        "sqlite:///whiteboard.db", flag=True, help="SQLite file (default) or postgresql://user@host/db for production."
    )
    redis_url: str | None = setting(
        None, flag=True,
        help="Redis for the shared event log: redis://host:6379/0, redis+sentinel://h1:26379,h2:26379,h3:26379/"
        "SERVICE/DB (the primary Sentinel names) or redis+cluster://h1:7000,h2:7001,h3:7002/; without it an "
        "in-process log (one instance).",
    )  # fmt: skip
    redis_key_prefix: str = setting(
        "wb", flag=True, help="Prefix for every Redis key, so deployments can share one Redis."
    )

    host: str = setting("127.0.0.1", flag=True, help="Address to listen on; 0.0.0.0 for every interface.")
    port: int = setting(8000, flag=True, minimum=0, maximum=65535, help="Port to listen on.")
    log_level: str = setting("info", flag=True, choices=LOG_LEVELS, help="Least severe log records written.")
    access_log: bool = setting(True, flag=True, help="Log one line per HTTP request.")

    demo: bool = setting(False, flag=True, help="Seed synthetic wards (once) and run a simulated feed of changes.")
    # Gentle enough that a board is readable.
    demo_rate: float = setting(20.0, flag=True, minimum=0, help="Simulated changes per minute with --demo; 0 for none.")
    demo_seed: int | None = setting(
        None, flag=True, help="Random seed for the demo data and feed (reproducible boards)."
    )

    # HL7 v2 over MLLP (whiteboard/feeds): off unless a port is given. Loopback by default: MLLP has no
    # credentials of its own, so a PAS on another host reaches it over TLS (and a client certificate).
    mllp_port: int | None = setting(
        None, flag=True, minimum=0, maximum=65535, help="Listen for HL7 v2 ADT messages over MLLP on this port."
    )
    mllp_host: str = setting("127.0.0.1", flag=True, help="Address the MLLP listener binds to.")
    mllp_location_map: str | None = setting(
        None, flag=True,
        help="JSON file mapping PV1-3 (point of care^room^bed) to wards and beds; without it, the ids are the board's.",
    )  # fmt: skip
    mllp_tls_cert: str | None = setting(None, help="PEM certificate (chain) for MLLP over TLS; plain TCP without.")
    mllp_tls_key: str | None = setting(None, help="PEM private key of the MLLP certificate (if not in the cert file).")
    mllp_tls_client_ca: str | None = setting(
        None, help="PEM CA bundle: MLLP peers must present a certificate it signed (mutual TLS)."
    )
    mllp_senders: tuple[str, ...] = setting(
        (), help="Sending facilities (MSH-4, comma-separated) whose messages are accepted; empty for any."
    )
    # ADT messages are a few KiB; 1 MiB leaves room for long histories without letting a peer fill memory.
    mllp_max_message_bytes: int = setting(
        1024 * 1024, minimum=1024, help="Largest HL7 message accepted; a larger one is skipped and refused (AR)."
    )
    # A PAS keeps its connection open between messages, which may be minutes apart at night.
    mllp_idle_secs: float = setting(600.0, above=0, help="An MLLP connection silent for this long is closed.")
    # A message is sent in one go; a peer trickling bytes holds its connection, never the server.
    mllp_message_secs: float = setting(
        30.0, above=0, help="A message must arrive whole (start to end block) within this, or the connection is closed."
    )
    mllp_max_connections: int = setting(32, minimum=1, help="MLLP connections open at once; more are closed at once.")

    # A busy ward changes ~2,000 times a day, so 10,000 covers days of disconnection.
    stream_maxlen: int = setting(
        10_000, minimum=1, help="Events kept per ward; older positions are answered with a fresh snapshot."
    )
    # A healthy tail read answers at least every 5 s (its block time), events or not; past this it is stuck.
    eventlog_tail_stall_secs: float = setting(
        20.0, minimum=6, maximum=600,
        help="Seconds a ward's live feed from Redis may go unanswered before /readyz fails naming the ward.",
    )  # fmt: skip
    # A whole ward changing at once is ~30 events; 256 leaves room for bursts and replays.
    ws_queue_size: int = setting(
        256, minimum=1, help="Frames queued for one WebSocket before it counts as a slow client and is closed (1013)."
    )
    # Frames go straight to the socket; what the kernel cannot take yet waits in the server. 256 KiB is the
    # 256 frames of `ws_queue_size` at a typical event's 1 KiB, or a few whole-ward snapshots.
    ws_send_buffer_bytes: int = setting(
        256 * 1024, minimum=1024,
        help="Bytes waiting unsent to one WebSocket (beyond the kernel's buffer) before it counts as a slow client "
        "and is closed (1013).",
    )  # fmt: skip
    heartbeat_secs: float = setting(15.0, above=0, help="Seconds without a frame after which a heartbeat is sent.")
    # Client-to-server frames are optional pings; anything larger is abuse.
    ws_max_message_bytes: int = setting(4096, minimum=1, help="Largest frame a client may send.")
    # permessage-deflate costs CPU per frame and memory per connection, and compressing secrets next to
    # attacker-chosen text leaks them (CRIME/BREACH-style).
    ws_compression: bool = setting(False, help="Offer permessage-deflate on WebSockets.")
    # The app's own checks answer in milliseconds.
    ws_handshake_secs: float = setting(
        10.0, above=0, help="An upgrade neither accepted nor refused by then is closed (no stalled handshakes)."
    )
    # Browsers send a request's head in one packet.
    request_head_secs: float = setting(
        10.0, above=0,
        help="A request's line and headers must all arrive within this (no client trickling headers for ever).",
    )  # fmt: skip
    # A bed update is a few hundred bytes; 64 KiB leaves room for long task lists.
    max_body_bytes: int = setting(64 * 1024, minimum=1, help="Largest request body accepted (413 beyond).")
    events_page_max: int = setting(1000, minimum=1, help="Most events one GET .../events answers.")
    credential_cache_secs: float = setting(
        5.0, minimum=0,
        help="Credentials are cached so a write costs no token lookup; revocation takes effect within this.",
    )  # fmt: skip
    # A database restart or failover takes seconds to minutes; boards and phones read from memory meanwhile.
    credential_stale_secs: float = setting(
        300.0, minimum=0,
        help="While the database does not answer, a credential verified within this long keeps its access, so reads "
        "go on from memory; 0 refuses every request whose cached check has expired.",
    )  # fmt: skip
    write_batch_max: int = setting(
        64, minimum=1, help="Writes that arrive together share one transaction (group commit), at most this many."
    )
    outbox_sweep_secs: float = setting(
        1.0, above=0, help="How often committed-but-unappended outbox rows are swept into the event log."
    )
    own_write_wait_secs: float = setting(
        2.0, minimum=0, help="How long a PATCH waits for its own event to reach this instance (read-your-writes)."
    )
    allowed_origins: tuple[str, ...] = setting(
        (), help="Other origins (comma-separated) allowed for cookie WebSockets; the server's own always is."
    )
    # A nurse edits a few beds a minute; feeds and scripts get room to burst.
    write_rate_per_min: float = setting(600.0, minimum=0, help="Writes per minute per credential; 0 for no limit.")
    write_burst: int = setting(60, minimum=1, help="Writes one credential may make at once.")
    # A board reconnecting with backoff needs a handful a minute; a loop of reconnects is refused. The burst leaves
    # room for a ward's boards sharing one credential to reconnect together after a restart.
    ws_connect_rate_per_min: float = setting(
        120.0, minimum=0, help="WebSocket connects per minute per credential; 0 for no limit."
    )
    ws_connect_burst: int = setting(60, minimum=1, help="WebSocket connects one credential may make at once.")
    board_stale_secs: float = setting(
        30.0, above=0, help='A board with no frame for this long shows the full-screen "data as of" cover.'
    )
    timezone: str = setting(
        "Europe/London", help="The wards' IANA time zone; the audit page shows times in it, with the UTC offset."
    )
    secret_key: str = setting(
        factory=lambda: secrets.token_urlsafe(32), secret=True,
        help="Signs form (CSRF) and sign-in flow tokens; set the same on every instance (default: random per process).",
    )  # fmt: skip
    session_idle_secs: int = setting(30 * 60, minimum=1, help="Staff sessions end after this long without a request.")
    session_max_age_secs: int = setting(12 * 3600, minimum=1, help="Staff sessions end after this long regardless.")
    login_failures_per_min: float = setting(
        5.0, minimum=0, help="Failed sign-ins per username and per client address; the rest are refused (429)."
    )
    # OpenID Connect sign-in (access/oidc.py): off unless an issuer and a client id are set.
    oidc_issuer: str | None = setting(None, help="OpenID Connect issuer URL; sign-in with it is off without one.")
    oidc_client_id: str | None = setting(None, help="This server's client id at the OpenID Connect provider.")
    oidc_client_secret: str | None = setting(None, secret=True, help="Its client secret.")
    oidc_scopes: str = setting("openid profile", help="Scopes asked for at sign-in.")
    oidc_role_claim: str = setting("whiteboard_role", help="The ID-token claim that names the person's role.")
    oidc_wards_claim: str = setting("whiteboard_wards", help="The ID-token claim that lists their wards.")
    oidc_name: str = setting("your organisation's sign-in", help="How the sign-in page names the provider.")
    migrate_on_start: bool = setting(True, help="Bring the database schema up to date at start-up.")
    # TLS served by the server itself, for a trust without a reverse proxy (deploy/README.md); off without a cert.
    tls_cert: str | None = setting(
        None, flag=True, help="PEM certificate (chain) to serve HTTPS and WSS with; plain HTTP without."
    )
    tls_key: str | None = setting(None, flag=True, help="PEM private key of --tls-cert (if not in the cert file).")
    # Behind nginx or an ingress the peer is the proxy: only these addresses' X-Forwarded-For/-Proto are believed
    # (the client address rate-limits sign-in; the scheme makes cookies Secure). uvicorn's own default.
    forwarded_allow_ips: tuple[str, ...] = setting(
        ("127.0.0.1",),
        help="Proxy addresses or networks (comma-separated, * for any) whose X-Forwarded-For/-Proto are trusted.",
    )
    # Off by default: how long identifiers are kept is the trust's records policy, not ours to guess.
    retention_days: int | None = setting(
        None, minimum=1,
        help="Purge discharged patients' identifiers this many days after they left (audit kept); unset: never.",
    )  # fmt: skip
    retention_sweep_secs: float = setting(
        3600.0, above=0, help="How often the server runs the retention purge (with WHITEBOARD_RETENTION_DAYS)."
    )
    # Graceful shutdown (web/shutdown.py). 10 s spreads 5,000 reconnecting screens to 500 a second and fits
    # Kubernetes' default 30 s grace period with the write path's settling and the backends' closing.
    shutdown_drain_secs: float = setting(
        10.0, minimum=0, maximum=600,
        help="On SIGTERM, WebSockets are closed (1012, resume by offset) in small batches spread over at most "
        "this long, so clients reconnect to other instances gradually; 0 closes them all at once.",
    )  # fmt: skip
    # PostgreSQL's pool (store/engine.py). A write takes one connection for a few ms (group commit), so 10 serves
    # thousands of writes a second; keep size + overflow times instances under the server's max_connections.
    # At least 2: the outbox sweeper holds one (its per-ward lease) while it reads the rows on another.
    db_pool_size: int = setting(10, minimum=2, maximum=1000, help="PostgreSQL connections each instance keeps open.")
    db_max_overflow: int = setting(
        10, minimum=0, maximum=1000, help="Extra PostgreSQL connections an instance may open under load, closed after."
    )
    # A request waiting longer than this for a connection is better answered 503 than left hanging.
    db_pool_timeout_secs: float = setting(
        5.0, above=0, help="Longest wait for a free pooled PostgreSQL connection before the request gets 503."
    )
    db_connect_timeout_secs: float = setting(
        5.0, above=0, help="Longest wait to open a PostgreSQL connection (a dead or blackholed server: 503)."
    )
    # The slowest statement is a page of the audit; a write's statements take milliseconds unless blocked.
    db_statement_timeout_secs: float = setting(
        10.0, above=0,
        help="PostgreSQL cancels a statement running (or waiting for a lock) longer than this; the request gets 503.",
    )  # fmt: skip
    # A transaction left open holds the ward's row lock: every other write to the ward waits behind it.
    db_idle_in_transaction_secs: float = setting(
        30.0, above=0, help="PostgreSQL ends a session idle inside a transaction for this long (its locks freed)."
    )
    # A full garbage collection visits every tracked object: ~100-235 ms with 5,000 WebSockets open, felt by all of
    # them at once (docs/PERFORMANCE.md, issue 9). Frozen objects are skipped; closed connections are still freed
    # by reference counting, and the rare full collection below reclaims any cycles they left (cli/heap.py).
    gc_freeze_secs: float = setting(
        1.0, minimum=0,
        help="Seconds between moving long-lived objects (open connections) out of the garbage collector's scans; "
        "0 keeps CPython's own policy.",
    )  # fmt: skip
    # Rare and bounded: one pause over the whole heap at most this often, only once it grew by a quarter.
    gc_full_secs: float = setting(
        600.0, minimum=0,
        help="Frozen objects get a full garbage collection at most this often, and only after the heap grew by a "
        "quarter (reclaims cycles left by closed connections).",
    )  # fmt: skip
    # Proves the outbox relay loses and duplicates nothing. Never set in production.
    test_crash_after_commit: bool = setting(
        False, internal=True, help="Test hook: exit right after a write commits, before it reaches the event log."
    )

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            _check(f, getattr(self, f.name))
        self.zone  # noqa: B018 - refuse an unknown time zone when the settings are made, not on first use

    @property
    def zone(self) -> ZoneInfo:
        try:
            return ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise SettingsError(
                f"{env_name('timezone')}={self.timezone!r} is not a time zone; use an IANA name such as Europe/London"
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
        """Build settings from `WHITEBOARD_<FIELD>` variables (empty means unset), then apply the overrides that
        are not None (the CLI's flags). A bad value raises `SettingsError` naming the variable."""
        env = os.environ if environ is None else environ
        hints = field_types()
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            raw = env.get(env_name(f.name))
            if raw:
                values[f.name] = parse(f.name, hints[f.name], raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


def field_types() -> dict[str, Any]:
    """The fields' real types (the annotations are strings under `from __future__ import annotations`)."""
    return typing.get_type_hints(Settings)


def base_type(tp: Any) -> tuple[Any, bool]:
    """(`int`, True) for `int | None`; (`int`, False) for `int`."""
    if isinstance(tp, types.UnionType) or typing.get_origin(tp) is typing.Union:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return tp, False


_TRUE: Final = frozenset({"1", "true", "yes", "on"})
_FALSE: Final = frozenset({"0", "false", "no", "off"})


def parse(name: str, tp: Any, raw: str) -> Any:
    """One variable's text as its field's type."""
    base, _ = base_type(tp)
    where = f"{env_name(name)}={raw!r}"
    if base is bool:
        if raw.strip().lower() in _TRUE:
            return True
        if raw.strip().lower() in _FALSE:
            return False
        raise SettingsError(f"{where} is not true or false; use 1/0, true/false, yes/no or on/off")
    if base is int:
        try:
            return int(raw)
        except ValueError:
            raise SettingsError(f"{where} is not a whole number; fix or unset it") from None
    if base is float:
        try:
            value = float(raw)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            raise SettingsError(f"{where} is not a number; fix or unset it")
        return value
    if base is str:
        return raw
    if typing.get_origin(base) is tuple:
        return tuple(item.strip() for item in raw.split(",") if item.strip())
    raise TypeError(f"setting {name}: no parser for {tp!r}")  # a new field's type: teach `parse` it


def _check(f: dataclasses.Field[Any], value: Any) -> None:
    """The bounds and choices in a field's metadata, for values from code, variables and flags alike."""
    if value is None:
        return
    m = f.metadata
    where = f"{env_name(f.name)}={value!r}"
    choices = m.get("choices")
    if choices is not None and value not in choices:
        raise SettingsError(f"{where} is not one of: {', '.join(choices)}")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return
    if not math.isfinite(value):
        raise SettingsError(f"{where} is not a number")
    if m.get("minimum") is not None and value < m["minimum"]:
        raise SettingsError(f"{where} is too small: it must be at least {m['minimum']:g}")
    if m.get("maximum") is not None and value > m["maximum"]:
        raise SettingsError(f"{where} is too large: it must be at most {m['maximum']:g}")
    if m.get("above") is not None and value <= m["above"]:
        raise SettingsError(f"{where} is too small: it must be more than {m['above']:g}")
