"""Who is asking about an upload: the one place "uploader only" checks get the caller's key."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.http import HttpRequest

from quiz.identity import voter_key


def caller_key(request: HttpRequest) -> uuid.UUID | None:
    """The key uploads made by this caller carry (Upload.uploader_key); None for a caller who has none.

    Browsers: the voter key of their cookie. A caller without a cookie owns no upload, and is not given a
    new key (and cookie) just for asking.
    """
    http_request = getattr(request, "_request", request)  # DRF wraps the HttpRequest the middleware sees
    if getattr(http_request, "_voter_key", None) is None and settings.VOTER_COOKIE_NAME not in http_request.COOKIES:
        return None
    return voter_key(http_request)
