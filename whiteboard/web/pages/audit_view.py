"""The audit page's reading of a record: what changed (field: before → after) and when, in the ward's
local time with its UTC offset. Pure functions; the CSV and `GET /api/audit` keep the full records.

A bed change stores the whole patient record before and after (so the trail can rebuild any state);
a person reviewing the trail needs only the fields that differ, so nested records are compared field by
field and unchanged ones are left out.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Final
from zoneinfo import ZoneInfo

MAX_VALUE_CHARS: Final = 160  # a long note is cut on the page; the CSV has it whole
_MISSING: Final = object()


@dataclass(frozen=True, slots=True)
class Change:
    field: str
    before: str | None  # None: the field was not there (a creation, or a record with no "before")
    after: str | None  # None: the field was removed


def show(value: Any) -> str:
    """A value as a person reads it: no JSON braces or quotes, lists joined, long text cut."""
    if value is None:
        text = "(none)"
    elif value == "":
        text = "(empty)"
    elif isinstance(value, bool):
        text = "yes" if value else "no"
    elif isinstance(value, dict):
        text = "; ".join(f"{_label(k)}: {show(v)}" for k, v in value.items()) or "(none)"
    elif isinstance(value, list):
        text = ", ".join(show(v) for v in value) or "(none)"
    else:
        text = str(value)
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + "…"


def _label(key: str) -> str:
    return key.replace("_", " ")


def changes(before: Any, after: Any) -> list[Change]:
    """The fields that differ between `before` and `after`, nested records flattened (`patient › name`)."""
    out: list[Change] = []
    _diff("", before, after, out)
    return out


def _as_map(value: Any) -> dict[str, Any] | None:
    """A record to compare field by field; nothing at all counts as an empty record."""
    if isinstance(value, dict):
        return value
    return {} if value is None or value is _MISSING else None


def _diff(path: str, old: Any, new: Any, out: list[Change]) -> None:
    old_map, new_map = _as_map(old), _as_map(new)
    if old_map is not None and new_map is not None and (isinstance(old, dict) or isinstance(new, dict) or not path):
        for key in [*old_map, *(k for k in new_map if k not in old_map)]:
            o, n = old_map.get(key, _MISSING), new_map.get(key, _MISSING)
            if o != n and not (path and key == "updated_at"):
                _diff(f"{path} › {_label(key)}" if path else _label(key), o, n, out)
        return
    if old == new:
        return
    out.append(Change(path or "value", None if old is _MISSING else show(old), None if new is _MISSING else show(new)))


def local_time(iso: str, zone: ZoneInfo) -> str:
    """`2026-07-01 09:00:00 BST (UTC+01:00)`: the ward's wall clock, with the offset so it is unambiguous."""
    at = dt.datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(zone)
    offset = at.strftime("%z")
    return f"{at:%Y-%m-%d %H:%M:%S} {at.tzname()} (UTC{offset[:3]}:{offset[3:]})"
