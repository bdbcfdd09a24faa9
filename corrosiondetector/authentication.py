"""DRF authentication, hardened where PostgreSQL would otherwise turn bad credentials into a 500."""

from drf_spectacular.authentication import BasicScheme
from rest_framework import authentication
from rest_framework.exceptions import AuthenticationFailed


class BasicAuthentication(authentication.BasicAuthentication):
    """DRF's Basic authentication, refusing credentials with a NUL character as wrong ones (401).

    PostgreSQL text cannot hold NUL, so looking such a username up raises a DataError (a 500).
    """

    def authenticate_credentials(self, userid, password, request=None):
        if "\x00" in userid or "\x00" in password:
            raise AuthenticationFailed("Invalid username/password.")
        return super().authenticate_credentials(userid, password, request)


class HardenedBasicScheme(BasicScheme):
    """The schema describes it as DRF's own Basic scheme (`basicAuth`)."""

    target_class = "corrosiondetector.authentication.BasicAuthentication"
