"""Client-facing errors and the contract's error body `{"error": {"code", "message", "field"?}}`."""

from __future__ import annotations

from typing import Any

import orjson


class ApiError(Exception):
    """An answer for the client. Raised anywhere below the HTTP layer; rendered in one place."""

    def __init__(
        self, status: int, code: str, message: str, field: str | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        err: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field is not None:
            err["field"] = self.field
        return {"error": err}

    def body_bytes(self) -> bytes:
        return orjson.dumps(self.body())


class DomainError(ApiError):
    """Well-formed input that the ward's rules refuse (422)."""

    def __init__(self, message: str, field: str | None = None, code: str = "invalid") -> None:
        super().__init__(422, code, message, field)


class NotFound(ApiError):
    def __init__(self, message: str) -> None:
        super().__init__(404, "not_found", message)


class Conflict(ApiError):
    """The request is sound but the ward's state forbids it now (an occupied target bed): 409."""

    def __init__(self, message: str, field: str | None = None, code: str = "conflict") -> None:
        super().__init__(409, code, message, field)


class PreconditionFailed(ApiError):
    def __init__(self, message: str) -> None:
        super().__init__(412, "precondition_failed", message)


class Unavailable(ApiError):
    def __init__(self, message: str) -> None:
        super().__init__(503, "unavailable", message)


class ChangeRefused(ApiError):
    """One bed change of several (a FHIR transaction) refused: which ward and bed, so the answer can name the entry."""

    def __init__(self, cause: ApiError, ward_id: str, bed_id: str) -> None:
        super().__init__(cause.status, cause.code, f"ward {ward_id!r} bed {bed_id!r}: {cause.message}", cause.field)
        self.ward_id = ward_id
        self.bed_id = bed_id
