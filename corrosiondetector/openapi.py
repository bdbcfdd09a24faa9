"""Pieces of the OpenAPI schema (drf-spectacular) shared by the apps' API views.

Every error the API answers with is JSON with a `detail` message and a machine-readable `code`
(corrosiondetector/errors.py); invalid input adds `errors`, every message by field name.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers


class ErrorOutput(serializers.Serializer):
    detail = serializers.CharField(help_text="what went wrong, safe to show to a person")
    code = serializers.CharField(help_text="why, for programs: e.g. too_large, round_expired, invalid, throttled")
    errors = serializers.DictField(
        child=serializers.JSONField(),
        required=False,
        help_text='invalid input only: field name → list of messages ("non_field_errors" for the whole input)',
    )


_DEFAULT_DESCRIPTIONS = {
    400: "Malformed request or invalid field values.",
    401: "No or wrong credentials (HTTP Basic, a session or an API token).",
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
            ErrorOutput,
            description=descriptions.get(f"e{code}", _DEFAULT_DESCRIPTIONS[code]),
        )
        for code in codes
    }
