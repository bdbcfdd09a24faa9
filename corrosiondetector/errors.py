"""The one domain error type and the one place API errors become JSON.

Services raise a `DomainError` subclass (quiz/errors.py, uploads/errors.py, modelzoo/errors.py); API views
let it, like DRF's own exceptions, propagate to `api_exception_handler`, so every API error body has one
shape: `{"detail": "...", "code": "..."}`, plus `errors` (field → messages) for invalid input.
HTML views catch the same errors themselves and show `message` to a person.
"""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler


class DomainError(Exception):
    """A refusal of the domain: a message for people, a `code` for programs, the HTTP status an API answers."""

    status_code = 400
    code = "invalid"

    def __init__(self, message: str, *, status_code: int | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        if status_code is not None:
            self.status_code = status_code
        if code is not None:
            self.code = code


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """REST_FRAMEWORK["EXCEPTION_HANDLER"]: every error as `{"detail", "code"}`; anything else stays a 500."""
    if isinstance(exc, DomainError):
        return Response({"detail": exc.message, "code": exc.code}, status=exc.status_code)
    # DRF's handler maps Django's Http404 and PermissionDenied and sets WWW-Authenticate and Retry-After.
    response = exception_handler(exc, context)
    if response is not None:
        response.data = _error_body(response.data, invalid=isinstance(exc, ValidationError))
    return response


def _error_body(data: Any, *, invalid: bool) -> dict[str, Any]:
    if not invalid and isinstance(data, dict) and "detail" in data:
        detail = data["detail"]  # an ErrorDetail: the message, with DRF's code (not_authenticated, throttled…)
        return {"detail": str(detail), "code": getattr(detail, "code", None) or "error"}
    # Field errors: one message a person can read, and all of them by field so clients lose nothing.
    errors = data if isinstance(data, dict) else {"non_field_errors": data}
    return {"detail": _first_message(errors), "code": "invalid", "errors": errors}


def _first_message(detail: Any, field: str | None = None) -> str:
    if isinstance(detail, dict):
        if not detail:
            return "Invalid input."
        key, value = next(iter(detail.items()))
        return _first_message(value, field or (None if key == "non_field_errors" else str(key)))
    if isinstance(detail, list):
        return _first_message(detail[0], field) if detail else "Invalid input."
    return f"{field}: {detail}" if field else str(detail)
