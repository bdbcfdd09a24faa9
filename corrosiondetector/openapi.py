"""Pieces of the OpenAPI schema (drf-spectacular) shared by the apps' API views.

Every error the API answers with is JSON with a `detail` message; the project's own refusals add a
machine-readable `code`. Field validation errors are the exception: DRF reports them as
`{"field": ["message", …]}`, so a 400 is documented as an object that may carry either shape.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers


class ErrorOutput(serializers.Serializer):
    detail = serializers.CharField(help_text="what went wrong, safe to show to a person")
    code = serializers.CharField(required=False, help_text="why, for programs: e.g. too_large, unsupported")


# A 400 is either an ErrorOutput (malformed JSON or multipart, a refused file, a bad round token) or DRF's
# per-field errors, keyed by field name; both are JSON objects.
BAD_REQUEST_SCHEMA = {
    "type": "object",
    "properties": {"detail": {"type": "string"}, "code": {"type": "string"}},
    "additionalProperties": True,
    "description": "`detail` (and `code`), or field name → list of messages.",
}

_DEFAULT_DESCRIPTIONS = {
    400: "Malformed request or invalid field values.",
    401: "No or wrong credentials (HTTP Basic or a session).",
    403: "Authenticated, but not allowed.",
    404: "No such object.",
    409: "Conflicts with the current state.",
    413: "The file is over the size limit.",
    415: "Unsupported request content type, or a file that is not an accepted image.",
    429: "Too many requests; retry after `Retry-After` seconds.",
}

RETRY_AFTER = OpenApiParameter(
    "Retry-After",
    OpenApiTypes.INT,
    location=OpenApiParameter.HEADER,
    response=[429],
    description="seconds until the rate-limit window resets",
)


def error_responses(*codes: int, **descriptions: str) -> dict[int, OpenApiResponse]:
    """Error responses for `codes`; `descriptions` override the default wording (keys like `e409`)."""
    return {
        code: OpenApiResponse(
            BAD_REQUEST_SCHEMA if code == 400 else ErrorOutput,
            description=descriptions.get(f"e{code}", _DEFAULT_DESCRIPTIONS[code]),
        )
        for code in codes
    }
