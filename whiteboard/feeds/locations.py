"""Where a PV1-3 (point of care ^ room ^ bed) is on the board: the location map.

Without a map file the PAS uses the board's own ids (point of care = ward id, bed = bed id; the room is
ignored). With one, only what it names is accepted: a location it does not name is refused with the reason,
never guessed (a wrong-bed mapping puts a patient against the wrong bed). The file is JSON:

    {"wards": {"AMU": "ward-12"},
     "beds": {"AMU^BAY1^3": {"ward": "ward-12", "bed": "B03"}}}

`beds` (exact `poc^room^bed`) wins over `wards` (a point of care whose bed ids are the board's).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from whiteboard.feeds.hl7_message import Location


class LocationError(ValueError):
    """A location the map does not name (or a map file that cannot be read)."""


@dataclass(frozen=True)
class LocationMap:
    wards: dict[str, str] = field(default_factory=dict)
    beds: dict[str, tuple[str, str]] = field(default_factory=dict)
    identity: bool = True  # no map file: the PAS speaks the board's ids

    @classmethod
    def from_json(cls, data: Any) -> LocationMap:
        if not isinstance(data, dict) or set(data) - {"wards", "beds"}:
            raise LocationError('a location map is a JSON object with "wards" and/or "beds"')
        wards = data.get("wards", {})
        beds = data.get("beds", {})
        if not isinstance(wards, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in wards.items()):
            raise LocationError('"wards" maps a point of care to a ward id (both text)')
        if not isinstance(beds, dict):
            raise LocationError('"beds" maps "poc^room^bed" to {"ward": ..., "bed": ...}')
        out: dict[str, tuple[str, str]] = {}
        for key, value in beds.items():
            if not (
                isinstance(value, dict) and isinstance(value.get("ward"), str) and isinstance(value.get("bed"), str)
            ):
                raise LocationError(f'beds[{key!r}] must be {{"ward": "...", "bed": "..."}}')
            out[key] = (value["ward"], value["bed"])
        return cls(dict(wards), out, identity=False)

    @classmethod
    def load(cls, path: str | None) -> LocationMap:
        if not path:
            return cls()
        try:
            return cls.from_json(json.loads(Path(path).read_text(encoding="utf-8")))
        except (OSError, json.JSONDecodeError) as exc:
            raise LocationError(f"the location map {path} cannot be read: {exc}") from None

    def resolve(self, where: Location | None, what: str = "PV1-3") -> tuple[str, str]:
        """(ward id, bed id) for a location, or LocationError saying why not."""
        if where is None:
            raise LocationError(f"{what} (assigned location) is empty")
        exact = self.beds.get(str(where))
        if exact is not None:
            return exact
        ward = self.wards.get(where.point_of_care)
        if ward is None and self.identity:
            ward = where.point_of_care
        if ward is None:
            raise LocationError(f"{what} {where} is not in the location map (unknown point of care)")
        if not where.bed:
            raise LocationError(f"{what} {where} names no bed (component 3)")
        return ward, where.bed
