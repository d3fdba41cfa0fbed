"""The one privacy filter: which fields a credential's audience sees.

Applied to snapshots, live events and replays alike (they all pass through `bed`/`event` here), on
the server, because whatever reaches a browser is disclosed. Staff roles see the whole record; a
`display` sees a per-ward profile that can never include an identifier, whatever an admin sets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from whiteboard.types import JSONDict

# Identifiers and staff-only content that no display profile may ever include.
NEVER_ON_DISPLAY: Final = frozenset({"name", "nhs_number", "date_of_birth", "notes", "tasks", "dnacpr"})
# Fields an admin may choose to show on a public board (the derived `tasks_pending` replaces task texts,
# which are free text and may name people).
DISPLAYABLE: Final = frozenset(
    {
        "initials",
        "sex",
        "age",
        "consultant",
        "named_nurse",
        "admitted_at",
        "edd",
        "medically_optimised",
        "discharge_pathway",
        "discharge_status",
        "red_green",
        "news2",
        "flags",
        "tasks_pending",
    }
)
# The safe default for a corridor-facing board: what the ward team needs at a glance, nothing that
# identifies the patient beyond initials (DOMAIN.md, "Privacy on public boards").
DEFAULT_DISPLAY_FIELDS: Final = frozenset(
    {
        "initials",
        "named_nurse",
        "edd",
        "medically_optimised",
        "discharge_status",
        "red_green",
        "news2",
        "flags",
        "tasks_pending",
    }
)
STAFF_ONLY_FLAGS: Final = frozenset({"dnacpr"})


@dataclass(frozen=True)
class Audience:
    """Who a serialised view is for. Events are encoded once per distinct audience, not per connection."""

    role: str
    display_fields: frozenset[str] | None = None  # None: the full staff view

    @property
    def key(self) -> str:
        if self.display_fields is None:
            return "staff"
        return "display:" + ",".join(sorted(self.display_fields))


STAFF: Final = Audience("staff")


def display_audience(configured: frozenset[str] | None) -> Audience:
    fields = DEFAULT_DISPLAY_FIELDS if configured is None else frozenset(configured) & DISPLAYABLE
    return Audience("display", fields - NEVER_ON_DISPLAY)


def patient(p: JSONDict | None, audience: Audience) -> JSONDict | None:
    if p is None or audience.display_fields is None:
        return p
    shown = audience.display_fields
    out: JSONDict = {}
    for key in shown:
        if key == "tasks_pending":
            out[key] = sum(1 for t in p.get("tasks") or () if not t.get("done"))
        elif key == "flags":
            out[key] = [f for f in p.get("flags") or () if f not in STAFF_ONLY_FLAGS]
        elif key in p:
            out[key] = p[key]
    return out


def bed(b: JSONDict, audience: Audience) -> JSONDict:
    if audience.display_fields is None:
        return b
    out = {k: v for k, v in b.items() if k != "notes"}
    out["patient"] = patient(b.get("patient"), audience)
    return out


def changes(c: JSONDict, audience: Audience) -> JSONDict:
    if audience.display_fields is None:
        return c
    out: JSONDict = {}
    for key, value in c.items():
        if key == "notes":
            continue
        out[key] = patient(value, audience) if key == "patient" else value
    return out


def event(e: JSONDict, audience: Audience) -> JSONDict:
    """Filter an event's changes, and those of the other beds it changed (`also`: a move within one ward)."""
    if audience.display_fields is None:
        return e
    out = {**e, "changes": changes(e["changes"], audience)}
    if "also" in e:
        out["also"] = {bed_id: changes(c, audience) for bed_id, c in e["also"].items()}
    return out
