from django.conf import settings
from rest_framework.throttling import BaseThrottle

from quiz.identity import ip_hash, voter_key
from quiz.throttles import rate_limits_hit


def upload_wait(request) -> int | None:
    """Count an upload against its address and voter; seconds to wait when either is over its limit.

    Shared by the JSON API and the HTML form, so neither is a way around the other's limit.
    """
    return rate_limits_hit(
        (f"upload-ip:{ip_hash(request)}", settings.UPLOAD_RATE_PER_IP),
        (f"upload-voter:{voter_key(request).hex}", settings.UPLOAD_RATE_PER_VOTER),
    )


class UploadThrottle(BaseThrottle):
    """Uploads cost real work (decode, store, inference): limited per voter and per (hashed) address."""

    def allow_request(self, request, view) -> bool:
        if request.method != "POST":
            return True
        self._wait = upload_wait(request)
        return self._wait is None

    def wait(self):
        return self._wait
