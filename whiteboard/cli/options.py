"""Click options made from `Settings` fields: a flag's name, variable, default, type, bounds and help are the
field's, so the CLI restates none of them."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

import click

from whiteboard.settings import Settings, base_type, env_name, field_types

F = TypeVar("F", bound=Callable[..., Any])
FIELDS = {f.name: f for f in dataclasses.fields(Settings)}


def _click_type(f: dataclasses.Field[Any], tp: Any) -> click.ParamType[Any, Any]:
    m = f.metadata
    if m["choices"]:
        return click.Choice(m["choices"])
    low, high, above = m["minimum"], m["maximum"], m["above"]
    if tp is int:
        return click.IntRange(low, high) if low is not None or high is not None else click.INT
    if tp is float:
        if above is not None:
            return click.FloatRange(min=above, min_open=True)
        return click.FloatRange(low, high) if low is not None or high is not None else click.FLOAT
    return click.STRING


def setting_option(name: str) -> Callable[[F], F]:
    """`--name` (`--name/--no-name` for a yes-or-no setting), also read from WHITEBOARD_NAME, as the field says."""
    f = FIELDS[name]
    if f.metadata["secret"]:
        raise ValueError(f"{name} is a secret: command lines are visible to every user (ps); use {env_name(name)}")
    tp, _ = base_type(field_types()[name])
    flag = "--" + name.replace("_", "-")
    common: dict[str, Any] = {"envvar": env_name(name), "show_envvar": True, "help": f.metadata["help"],
                              "default": f.default}  # fmt: skip
    if tp is bool:
        return click.option(f"{flag}/--no-{flag[2:]}", name, **common)
    return click.option(flag, name, type=_click_type(f, tp), show_default=f.default is not None, **common)


def setting_options() -> Callable[[F], F]:
    """Every field marked `flag`, in the settings' order."""

    def apply(fn: F) -> F:
        for f in reversed(dataclasses.fields(Settings)):
            if f.metadata["flag"]:
                fn = setting_option(f.name)(fn)
        return fn

    return apply


def environment_help() -> str:
    """An epilog for `serve --help`: the settings without a flag, each with its variable, default and help."""
    lines = ["\b", "Every other setting is read from the environment (an empty value means unset):"]
    for f in dataclasses.fields(Settings):
        if f.metadata["flag"] or f.metadata["internal"]:
            continue
        shown = "" if f.metadata["secret"] or f.default is dataclasses.MISSING else f"  [default: {_shown(f.default)}]"
        lines += [f"  {env_name(f.name)}{shown}", f"      {f.metadata['help']}"]
    return "\n".join(lines)


def _shown(value: Any) -> str:
    if isinstance(value, tuple):
        return ",".join(value) or "none"
    return "none" if value is None else str(value)
