from django.conf import settings
from rest_framework.throttling import BaseThrottle

from quiz.identity import ip_hash, voter_key
from quiz.throttles import rate_limit_hit


class UploadThrottle(BaseThrottle):
    """Uploads cost real work (decode, store, inference): limited per voter and per (hashed) address."""

    def allow_request(self, request, view) -> bool:
        if request.method != "POST":
            return True
        self._wait = rate_limit_hit(f"upload-ip:{ip_hash(request)}", settings.UPLOAD_RATE_PER_IP) or rate_limit_hit(
            f"upload-voter:{voter_key(request).hex}", settings.UPLOAD_RATE_PER_VOTER
        )
        return self._wait is None

    def wait(self):
        return self._wait
