"""Domain errors of uploads, each with the HTTP status an API answers with."""

from django.conf import settings

from corrosiondetector.errors import DomainError


class UploadError(DomainError):
    pass


def upload_max_megabytes() -> int:
    return settings.UPLOAD_MAX_BYTES // (1024 * 1024)


class UploadTooLarge(UploadError):
    status_code = 413
    code = "too_large"

    def __init__(self):
        super().__init__(f"The file is larger than {upload_max_megabytes()} MB.")


class NotTheUploader(UploadError):
    status_code = 403
    code = "not_uploader"


class UploadNotFound(UploadError):
    """Someone else's upload: answered like one that does not exist, so that ids reveal nothing."""

    status_code = 404
    code = "not_found"
