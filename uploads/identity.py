"""Whose upload is it: the key every "uploader only" check compares with Upload.uploader_key.

A browser is known by its voter cookie (quiz.identity); a script by its API token, whose user gets a
key of their own, derived so that it stays the same across token rotations and never meets a cookie key.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.http import HttpRequest
from rest_framework.authtoken.models import Token

from quiz.identity import voter_key

# Fixed for good: changing it would orphan every upload made with a token.
TOKEN_USER_NAMESPACE = uuid.UUID("5b0e7f8e-2c1a-4d6b-9f3e-8a4c1d2e7b60")


def token_voter_key(user) -> uuid.UUID:
    return uuid.uuid5(TOKEN_USER_NAMESPACE, f"user:{user.pk}")


def token_user(request):
    """The user of a request authenticated by `Authorization: Token <key>`, else None.

    Only a DRF request that an API view authenticated carries `auth`; a session's user is not a script.
    """
    return request.user if isinstance(getattr(request, "auth", None), Token) else None


def caller_key(request: HttpRequest) -> uuid.UUID | None:
    """The key uploads made by this caller carry (Upload.uploader_key); None for a caller who has none.

    Scripts: their token user's key. Browsers: the voter key of their cookie. A caller without a cookie owns
    no upload, and is not given a new key (and cookie) just for asking.
    """
    user = token_user(request)
    if user is not None:
        return token_voter_key(user)
    http_request = getattr(request, "_request", request)  # DRF wraps the HttpRequest the middleware sees
    if getattr(http_request, "_voter_key", None) is None and settings.VOTER_COOKIE_NAME not in http_request.COOKIES:
        return None
    return voter_key(http_request)


def uploader_key(request: HttpRequest) -> uuid.UUID:
    """The key a new upload gets: the token user's, or the voter cookie's (a first-time browser gets one)."""
    user = token_user(request)
    return token_voter_key(user) if user is not None else voter_key(getattr(request, "_request", request))
