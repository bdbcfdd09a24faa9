import hashlib

from django.conf import settings
from rest_framework.throttling import BaseThrottle

from quiz.identity import ip_hash, voter_key
from quiz.throttles import rate_limits_hit
from uploads.identity import token_user


def upload_wait(request) -> int | None:
    """Count an upload against its token, or its address and voter; seconds to wait when over a limit.

    Shared by the JSON API and the HTML form, so neither is a way around the other's limit. A script with
    a token has a bucket of its own: many scripts may sit behind one address (a company's proxy), and
    counting them against the address would let one starve the others.
    """
    if token_user(request) is not None:
        return rate_limits_hit((f"upload-token:{_token_digest(request.auth.key)}", settings.UPLOAD_RATE_PER_TOKEN))
    return rate_limits_hit(
        (f"upload-ip:{ip_hash(request)}", settings.UPLOAD_RATE_PER_IP),
        (f"upload-voter:{voter_key(request).hex}", settings.UPLOAD_RATE_PER_VOTER),
    )


def _token_digest(key: str) -> str:
    # The token's key is its primary key and the credential itself: it never goes into the cache in clear.
    return hashlib.sha256(key.encode()).hexdigest()[:32]


class UploadThrottle(BaseThrottle):
    """Uploads cost real work (decode, store, inference): limited per token, or per voter and (hashed) address."""

    def allow_request(self, request, view) -> bool:
        if request.method != "POST":
            return True
        self._wait = upload_wait(request)
        return self._wait is None

    def wait(self):
        return self._wait
