"""The OpenAPI components, derived from the wire models (pydantic's JSON Schema, tidied)."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from whiteboard.domain.wire.answers import ANSWERS
from whiteboard.domain.wire.requests import REQUESTS

JSONSchema = dict[str, Any]


def _tidy(node: Any) -> Any:
    """Pydantic's schema, as a person would write it: no generated titles, no `default: null` on optional keys."""
    if isinstance(node, list):
        return [_tidy(n) for n in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "title" or (key == "default" and value is None):
            continue
        if key in ("properties", "$defs"):
            out[key] = {name: _tidy(schema) for name, schema in value.items()}
        else:
            out[key] = _tidy(value)
    return out


def components(displayable: frozenset[str]) -> dict[str, JSONSchema]:
    """`components.schemas` for every wire model, referenced as `#/components/schemas/NAME`.

    `displayable` is the privacy filter's list of fields a display profile may name."""
    models = [*REQUESTS, *ANSWERS]
    _, defs = TypeAdapter.json_schemas(
        [(m.__name__, "validation", TypeAdapter(m)) for m in models], ref_template="#/components/schemas/{model}"
    )
    schemas: dict[str, JSONSchema] = _tidy(defs.get("$defs", {}))
    fields = schemas["DisplayProfileUpdate"]["properties"]["fields"]
    fields["anyOf"][0]["items"] = {"enum": sorted(displayable)}
    return schemas
