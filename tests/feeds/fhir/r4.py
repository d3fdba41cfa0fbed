"""Checks of what the server sends, by two libraries of its own choosing: fhirclient's R4 4.0.1 models (strict),
and fhir.resources' R4B models as a second, independent opinion (R4B is R4 with few changes to these resources)."""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from fhirclient.models.fhirelementfactory import FHIRElementFactory


def assert_r4(resource: dict[str, Any]) -> dict[str, Any]:
    """Valid R4 by fhirclient and by fhir.resources (R4B); returns the resource for chaining."""
    kind = resource["resourceType"]
    FHIRElementFactory.instantiate(kind, resource)  # raises FHIRValidationError
    get_fhir_model_class(kind).model_validate(resource)  # raises pydantic's ValidationError
    return resource


def resources_of(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    assert_r4(bundle)
    return [e["resource"] for e in bundle.get("entry", [])]
