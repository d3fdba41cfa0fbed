"""Validation errors as the contract's refusals: `{"error": {"code", "message", "field"}}` with a 422.

The codes and fields are the ones the hand-written parsers used (CONTRACT.md): the first fault a person
should fix, named like `patient.tasks[0].kind`.
"""

from __future__ import annotations

from typing import Any, Final

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from whiteboard.errors import DomainError

_CODES: Final = {
    "extra_forbidden": "unknown_field",
    "string_too_long": "too_long",
    "too_long": "too_long",
    "literal_error": "unknown_value",
    "missing": "invalid",
    "string_too_short": "invalid",
}
_EXPECTED: Final = {
    "string_type": "a string",
    "bool_type": "true or false",
    "int_type": "a whole number",
    "float_type": "a number",
    "finite_number": "a finite number",
    "list_type": "a list",
    "dict_type": "an object",
    "greater_than_equal": "a whole number of at least {ge}",
    "less_than_equal": "a whole number of at most {le}",
}
# Error types the value checks raise (`values`): already the contract's codes.
_OUR_CODES: Final = frozenset({"bad_character", "invalid", "wrong_type"})
# Where a list's item is at fault, the hand-written parser named the list (flags) or the item (tasks[0]).
_NAMED_BY_LIST: Final = frozenset({"flags"})


def field_name(loc: tuple[int | str, ...]) -> str | None:
    """`('patient', 'tasks', 0, 'kind')` → `patient.tasks[0].kind`; `()` (the body itself) → None."""
    out = ""
    for i, part in enumerate(loc):
        if isinstance(part, int):
            if loc[i - 1] in _NAMED_BY_LIST:
                break
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out or None


def _position(err: ErrorDetails, body: Any) -> tuple[tuple[int, ...], str]:
    """Where in the body an error sits: at its level, unknown fields first, then missing ones (by name), then
    the fields in the order they were sent (the order the parsers before the models checked them in)."""
    loc = err["loc"]
    at: list[int] = []
    node = body
    for depth, part in enumerate(loc):
        if depth == len(loc) - 1 and err["type"] in ("extra_forbidden", "missing"):
            at.append(-2 if err["type"] == "extra_forbidden" else -1)
        elif isinstance(node, dict) and part in node:
            at.append(list(node).index(part))
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            at.append(part)
            node = node[part]
        else:
            at.append(1 << 30)
    return tuple(at), str(loc)


def first_error(exc: ValidationError, body: Any) -> ErrorDetails:
    """The error a person should fix first (see `_position`)."""
    return min(exc.errors(include_url=False), key=lambda e: _position(e, body))


def refusal(exc: ValidationError, body: Any, *, code: str | None = None, field: str | None = None) -> DomainError:
    """The contract's 422 for a body the model refuses. `code`/`field` fix them for bodies that always used one."""
    err = first_error(exc, body)
    where = field_name(err["loc"])
    kind = err["type"]
    ctx = err.get("ctx") or {}
    if kind == "extra_forbidden":
        name = err["loc"][-1]
        within = where.rsplit(".", 1)[0] if where and "." in where else None
        message = f"unknown field {name!r}" + (f" in {within}" if within else "")
    elif kind in _EXPECTED:
        message = f"{where or 'the body'} must be {_EXPECTED[kind].format(**ctx)}"
    elif kind == "literal_error":
        message = f"{where} must be one of: {ctx.get('expected', '')}"
    elif kind == "string_too_long":
        message = f"{where} is {len(err['input'])} characters; at most {ctx.get('max_length')} are allowed"
    elif kind == "too_long":
        items = err["loc"][-1] if err["loc"] and isinstance(err["loc"][-1], str) else "items"  # "31 tasks"
        message = f"{where} holds {len(err['input'])} {items}; at most {ctx.get('max_length')} are allowed"
    elif kind == "missing":
        message = f"{where} is required"
    else:
        message = f"{where or 'the body'} {err['msg']}" if kind in _OUR_CODES else f"{where}: {err['msg']}"
    ours = kind if kind in _OUR_CODES else _CODES.get(kind, "wrong_type")
    return DomainError(message, field if field is not None else where, code or ours)
