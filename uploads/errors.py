class UploadError(Exception):
    http_status = 400
    code = "invalid"

    def __init__(self, message: str, *, http_status: int | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        if http_status is not None:
            self.http_status = http_status
        if code is not None:
            self.code = code


class UploadTooLarge(UploadError):
    http_status = 413
    code = "too_large"


class NotTheUploader(UploadError):
    http_status = 403
    code = "not_uploader"
