"""Domain errors of uploads, each with the HTTP status an API answers with."""

from django.conf import settings
from django.utils.translation import gettext as _

from corrosiondetector.errors import DomainError


class UploadError(DomainError):
    pass


def upload_max_megabytes() -> int:
    return settings.UPLOAD_MAX_BYTES // (1024 * 1024)


class UploadTooLarge(UploadError):
    status_code = 413
    code = "too_large"

    def __init__(self):
        super().__init__(_("The file is larger than %(megabytes)s MB.") % {"megabytes": upload_max_megabytes()})


class NotTheUploader(UploadError):
    status_code = 403
    code = "not_uploader"


class UploadNotFound(UploadError):
    """Someone else's upload: answered like one that does not exist, so that ids reveal nothing."""

    status_code = 404
    code = "not_found"
