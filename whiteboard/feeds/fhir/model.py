"""Validation with fhirclient's R4 4.0.1 models: every resource sent is checked, every resource accepted too.

Why fhirclient (SMART on FHIR's `client-py`): its models are generated from FHIR 4.0.1, the release NHS systems
speak. fhir.resources carries R4 4.0.1 only up to 6.x, which needs pydantic 1 (its models import pydantic 1's
validator internals; we run pydantic 2); from 7.0 it is R5 with R4B (4.3.0) beside it, not R4. fhirclient's models
check each element's type and cardinality, the required elements, date and time formats and refuse unknown
elements (strict mode); the value-set bindings the board relies on are checked by the mapping itself.
"""

from __future__ import annotations

from typing import Any, Final

from fhirclient.models.fhirabstractbase import FHIRValidationError
from fhirclient.models.fhirelementfactory import FHIRElementFactory

from whiteboard.feeds.fhir.outcome import FhirError
from whiteboard.types import JSONDict

# The resource types this server reads, writes or answers with.
KNOWN_TYPES: Final = frozenset(
    {"Bundle", "CapabilityStatement", "Encounter", "Location", "Observation", "OperationOutcome", "Parameters",
     "Patient", "Subscription"}
)  # fmt: skip


def _problems(exc: FHIRValidationError) -> str:
    text = str(exc).replace("{root}:", "").strip()
    return " ".join(line.strip() for line in text.splitlines() if line.strip())[:1000]


def _instantiate(resource: Any) -> None:
    if not isinstance(resource, dict):
        raise FhirError(400, "structure", "a FHIR resource is a JSON object")
    kind = resource.get("resourceType")
    if kind not in KNOWN_TYPES:
        raise FhirError(422, "not-supported", f"resourceType {kind!r} is not one this server takes", "resourceType")
    FHIRElementFactory.instantiate(kind, resource)


def accept(resource: Any) -> JSONDict:
    """A resource a client sent, checked against the R4 model: 400 (structure) naming what is wrong."""
    try:
        _instantiate(resource)
    except FHIRValidationError as exc:
        kind = resource.get("resourceType")
        raise FhirError(400, "structure", f"not a valid FHIR R4 {kind}: {_problems(exc)}") from None
    except FhirError:
        raise
    except Exception as exc:  # the models fail in many ways on a value of the wrong shape: still the client's input
        raise FhirError(400, "structure", f"not a valid FHIR R4 resource: {exc}") from None
    assert isinstance(resource, dict)
    return resource


class InvalidOutput(Exception):
    """A resource we built fails the R4 model: a bug here, never sent (the client gets a 500, the log the reason)."""


def checked(resource: JSONDict) -> JSONDict:
    """A resource about to be sent, checked against the R4 model."""
    try:
        _instantiate(resource)
    except (FHIRValidationError, FhirError, TypeError, ValueError) as exc:
        raise InvalidOutput(f"{resource.get('resourceType')} fails the R4 model: {exc}") from exc
    return resource
