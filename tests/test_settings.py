"""`Settings.from_environ` on an explicit environment: every field can be set, each to its type; a bad value is a
clear ValueError naming the variable (never SystemExit from library code); flags and overrides win."""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

import pytest

from whiteboard.settings import ENV_PREFIX, Settings, SettingsError

FIELDS = {f.name: f for f in dataclasses.fields(Settings)}
HINTS = typing.get_type_hints(Settings)


def env(name: str) -> str:
    return ENV_PREFIX + name.upper()


# A value unlike the default for every field, as written in the environment and as the field then holds it.
# Keyed by field name so a new field without an entry fails `test_every_field_is_settable_from_the_environment`.
SAMPLES: dict[str, tuple[str, Any]] = {
    "database_url": ("postgresql://wb@db/wb", "postgresql://wb@db/wb"),
    "redis_url": ("redis://redis:6379/1", "redis://redis:6379/1"),
    "redis_key_prefix": ("ward", "ward"),
    "host": ("0.0.0.0", "0.0.0.0"),
    "port": ("8080", 8080),
    "log_level": ("debug", "debug"),
    "access_log": ("off", False),
    "demo": ("yes", True),
    "demo_rate": ("2.5", 2.5),
    "mllp_port": ("2575", 2575),
    "mllp_host": ("127.0.0.2", "127.0.0.2"),
    "mllp_location_map": ("/etc/wb/locations.json", "/etc/wb/locations.json"),
    "mllp_tls_cert": ("/etc/wb/mllp.pem", "/etc/wb/mllp.pem"),
    "mllp_tls_key": ("/etc/wb/mllp.key", "/etc/wb/mllp.key"),
    "mllp_tls_client_ca": ("/etc/wb/pas-ca.pem", "/etc/wb/pas-ca.pem"),
    "mllp_senders": ("RXH, RXQ", ("RXH", "RXQ")),
    "mllp_max_message_bytes": ("65536", 65536),
    "mllp_idle_secs": ("60", 60.0),
    "mllp_message_secs": ("5.5", 5.5),
    "mllp_max_connections": ("4", 4),
    "demo_seed": ("7", 7),
    "stream_maxlen": ("20000", 20000),
    "eventlog_tail_stall_secs": ("30", 30.0),
    "ws_queue_size": ("16", 16),
    "ws_send_buffer_bytes": ("65536", 65536),
    "heartbeat_secs": ("0.5", 0.5),
    "ws_max_message_bytes": ("1024", 1024),
    "ws_compression": ("1", True),
    "ws_handshake_secs": ("3", 3.0),
    "request_head_secs": ("4", 4.0),
    "max_body_bytes": ("1000", 1000),
    "events_page_max": ("50", 50),
    "credential_cache_secs": ("0", 0.0),
    "write_batch_max": ("8", 8),
    "outbox_sweep_secs": ("0.25", 0.25),
    "own_write_wait_secs": ("1", 1.0),
    "allowed_origins": ("https://a.example, https://b.example,", ("https://a.example", "https://b.example")),
    "write_rate_per_min": ("0", 0.0),
    "write_burst": ("5", 5),
    "ws_connect_rate_per_min": ("30", 30.0),
    "ws_connect_burst": ("3", 3),
    "board_stale_secs": ("45", 45.0),
    "timezone": ("Europe/Dublin", "Europe/Dublin"),
    "secret_key": ("s" * 40, "s" * 40),
    "session_idle_secs": ("600", 600),
    "session_max_age_secs": ("3600", 3600),
    "login_failures_per_min": ("3", 3.0),
    "oidc_issuer": ("https://login.example", "https://login.example"),
    "oidc_client_id": ("whiteboard", "whiteboard"),
    "oidc_client_secret": ("hush", "hush"),
    "oidc_scopes": ("openid", "openid"),
    "oidc_role_claim": ("role", "role"),
    "oidc_wards_claim": ("wards", "wards"),
    "oidc_name": ("NHS CIS2", "NHS CIS2"),
    "migrate_on_start": ("false", False),
    "tls_cert": ("/etc/wb/cert.pem", "/etc/wb/cert.pem"),
    "tls_key": ("/etc/wb/key.pem", "/etc/wb/key.pem"),
    "forwarded_allow_ips": ("10.0.0.0/8, 127.0.0.1", ("10.0.0.0/8", "127.0.0.1")),
    "retention_days": ("90", 90),
    "retention_sweep_secs": ("60", 60.0),
    "shutdown_drain_secs": ("2.5", 2.5),
    "db_pool_size": ("4", 4),
    "db_max_overflow": ("0", 0),
    "db_pool_timeout_secs": ("1.5", 1.5),
    "db_connect_timeout_secs": ("2", 2.0),
    "db_statement_timeout_secs": ("3", 3.0),
    "db_idle_in_transaction_secs": ("60", 60.0),
    "credential_stale_secs": ("60", 60.0),
    "gc_freeze_secs": ("2.5", 2.5),
    "gc_full_secs": ("0", 0.0),
    "test_crash_after_commit": ("true", True),
}


def test_every_field_is_settable_from_the_environment() -> None:
    assert set(SAMPLES) == set(FIELDS), "give a new setting a sample here"
    settings = Settings.from_environ({env(name): raw for name, (raw, _) in SAMPLES.items()})
    for name, (_, want) in SAMPLES.items():
        got = getattr(settings, name)
        assert got == want and type(got) is type(want), name
        assert got != (FIELDS[name].default if FIELDS[name].default is not dataclasses.MISSING else None), name


def test_an_empty_or_absent_variable_keeps_the_default() -> None:
    settings = Settings.from_environ({env("port"): "", env("redis_url"): ""})
    assert settings.port == 8000 and settings.redis_url is None


def test_an_explicit_environment_is_the_only_one_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(env("port"), "9999")
    assert Settings.from_environ({}).port == 8000
    assert Settings.from_environ().port == 9999


def test_overrides_win_and_none_means_not_given() -> None:
    settings = Settings.from_environ({env("port"): "9000", env("host"): "0.0.0.0"}, port=9100, host=None)
    assert (settings.port, settings.host) == (9100, "0.0.0.0")


@pytest.mark.parametrize(
    ("name", "raw", "says"),
    [
        ("port", "eighty", "is not a whole number"),
        ("port", "80.5", "is not a whole number"),
        ("port", "70000", "at most 65535"),
        ("demo", "maybe", "true or false"),
        ("demo_rate", "fast", "is not a number"),
        ("demo_rate", "-1", "at least 0"),
        ("heartbeat_secs", "nan", "is not a number"),
        ("heartbeat_secs", "0", "more than 0"),
        ("ws_queue_size", "0", "at least 1"),
        ("log_level", "verbose", "one of: debug, info, warning, error"),
        ("timezone", "Mars/Olympus", "is not a time zone"),
    ],
)
def test_a_bad_value_is_a_clear_error_naming_the_variable(name: str, raw: str, says: str) -> None:
    with pytest.raises(SettingsError) as refused:
        Settings.from_environ({env(name): raw})
    message = str(refused.value)
    assert env(name) in message and raw in message and says in message, message
    assert isinstance(refused.value, ValueError)  # never SystemExit: the caller decides how to stop


def test_the_same_checks_apply_to_settings_made_in_code() -> None:
    with pytest.raises(SettingsError, match="WHITEBOARD_WS_QUEUE_SIZE"):
        Settings(ws_queue_size=0)


def test_secrets_never_reach_repr() -> None:
    settings = Settings(
        database_url="postgresql://wb:pw1@db/wb", redis_url="redis://:pw2@redis:6379/0", oidc_client_secret="pw3"
    )
    text = repr(settings)
    assert "pw1" not in text and "pw2" not in text and "pw3" not in text and settings.secret_key not in text


def test_every_setting_says_what_it_is_for() -> None:
    for f in FIELDS.values():
        assert f.metadata.get("help"), f"{f.name} has no help text (the CLI shows it)"
