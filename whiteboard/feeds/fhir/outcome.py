"""OperationOutcome: how every FHIR refusal is said, with the HTTP status that goes with it."""

from __future__ import annotations

from typing import Final

from whiteboard.errors import ApiError
from whiteboard.types import JSONDict

# The contract's error codes → FHIR IssueType (http://hl7.org/fhir/issue-type).
_ISSUE_TYPES: Final = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    409: "conflict",
    412: "conflict",
    413: "too-costly",
    415: "not-supported",
    422: "processing",
    429: "throttled",
    503: "transient",
}


class FhirError(Exception):
    """A refusal in FHIR terms: the status, the issue type, what to do, and where (a FHIRPath-ish expression)."""

    def __init__(self, status: int, code: str, diagnostics: str, expression: str | None = None) -> None:
        super().__init__(diagnostics)
        self.status = status
        self.code = code
        self.diagnostics = diagnostics
        self.expression = expression

    @classmethod
    def from_api_error(cls, exc: ApiError, expression: str | None = None) -> FhirError:
        """The JSON API's refusal (a rule, a missing right) said the FHIR way; the contract's code rides along."""
        where = expression or exc.field
        return cls(exc.status, _ISSUE_TYPES.get(exc.status, "processing"), f"{exc.message} [{exc.code}]", where)


def operation_outcome(exc: FhirError) -> JSONDict:
    issue: JSONDict = {"severity": "error", "code": exc.code, "diagnostics": exc.diagnostics}
    if exc.expression:
        issue["expression"] = [exc.expression]
    return {"resourceType": "OperationOutcome", "issue": [issue]}


def information(text: str) -> JSONDict:
    """A success that still says something (a transaction's summary)."""
    return {"resourceType": "OperationOutcome", "issue": [{"severity": "information", "code": "informational",
                                                           "diagnostics": text}]}  # fmt: skip
