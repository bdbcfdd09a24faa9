"""Whose upload is it: the key every "uploader only" check compares with Upload.uploader_key.

A browser is known by its voter cookie (quiz.identity); a script by its API token, whose user gets a
key of their own, derived so that it stays the same across token rotations and never meets a cookie key.
"""

from __future__ import annotations

import uuid

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


def caller_key(request) -> uuid.UUID | None:
    user = token_user(request)
    if user is not None:
        return token_voter_key(user)
    return voter_key(request)
