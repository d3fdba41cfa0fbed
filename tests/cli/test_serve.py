"""`whiteboard serve`'s flags come from the settings' fields: name, variable, default, type and help, in one place."""

from __future__ import annotations

import dataclasses

import click
import pytest
from click.testing import CliRunner

from whiteboard.cli import main
from whiteboard.settings import Settings

FIELDS = {f.name: f for f in dataclasses.fields(Settings)}
# Flags people and scripts already use: each must keep working.
EXISTING = {"--host", "--port", "--database-url", "--redis-url", "--redis-key-prefix", "--demo", "--no-demo",
            "--demo-rate", "--demo-seed", "--log-level", "--access-log", "--no-access-log"}  # fmt: skip


def serve_options() -> dict[str, click.Option]:
    return {p.name: p for p in main.commands["serve"].params if isinstance(p, click.Option) and p.name}


def test_every_existing_flag_still_exists() -> None:
    flags = {decl for opt in serve_options().values() for decl in (*opt.opts, *opt.secondary_opts)}
    assert EXISTING <= flags


def test_each_flag_is_its_settings_field() -> None:
    options = serve_options()
    assert options, "serve has no options"
    for name, opt in options.items():
        field = FIELDS[name]  # every serve flag is a setting
        assert opt.envvar == f"WHITEBOARD_{name.upper()}"
        assert opt.default == field.default, name
        assert opt.help == field.metadata["help"], name


def test_help_lists_every_variable_flag_or_not() -> None:
    text = CliRunner().invoke(main, ["serve", "--help"], terminal_width=200).output
    for name, f in FIELDS.items():
        if f.metadata.get("internal"):
            continue
        assert f"WHITEBOARD_{name.upper()}" in text, name


@pytest.mark.parametrize(("flag", "value"), [("--port", "eighty"), ("--demo-rate", "-1"), ("--log-level", "loud")])
def test_a_bad_flag_is_refused_before_anything_starts(flag: str, value: str) -> None:
    result = CliRunner().invoke(main, ["serve", flag, value])
    assert result.exit_code == 2 and flag in result.output


def test_a_bad_variable_is_refused_by_name() -> None:
    result = CliRunner().invoke(main, ["serve"], env={"WHITEBOARD_STREAM_MAXLEN": "lots"})
    assert result.exit_code == 2
    assert "WHITEBOARD_STREAM_MAXLEN='lots' is not a whole number" in result.stderr
    assert "Traceback" not in result.output


def test_a_secret_never_becomes_a_flag() -> None:
    from whiteboard.cli.options import setting_option

    with pytest.raises(ValueError, match="WHITEBOARD_SECRET_KEY"):
        setting_option("secret_key")
