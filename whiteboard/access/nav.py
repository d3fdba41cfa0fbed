"""Where a credential may go: the links of the home page (`/`) and of the admin pages' bar.

Built from the very `Principal` checks the pages apply, so a link is shown exactly when the page
behind it would open for this credential (the test walks every link for every role).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from whiteboard.access.auth import Principal
from whiteboard.store import WardInfo


@dataclass(frozen=True, slots=True)
class Link:
    href: str
    label: str
    hint: str
    key: str  # names the page for `aria-current` in the bar


def pages_for(who: Principal) -> list[Link]:
    """The pages (not the per-ward boards) this credential may open, in the order a person needs them."""
    links: list[Link] = []
    if who.at_least("viewer"):
        links.append(Link("/m", "Wards and beds", "The phone view: every bed of your wards; nurses edit here.", "m"))
    if who.at_least("ward_manager"):
        links.append(Link("/audit", "Audit trail", "Who changed or viewed what, and when.", "audit"))
    if who.at_least("admin"):
        links.append(Link("/admin/users", "Staff accounts", "Add people, set a new password, disable.", "users"))
        links.append(
            Link("/admin/displays", "Wall displays", "Enrol a screen with a pairing code, rename, revoke.", "displays")
        )
    if who.sees_metrics:
        links.append(Link("/ops", "Live operations", "Connections, event rates, latency and backends.", "ops"))
    return links


def boards_for(who: Principal, wards: Iterable[WardInfo]) -> list[Link]:
    """The wall boards this credential may open (staff use them to check what the ward sees)."""
    return [Link(f"/board/{w.id}", w.name, f"{w.beds} beds", f"board:{w.id}") for w in wards if who.can_read_ward(w.id)]
