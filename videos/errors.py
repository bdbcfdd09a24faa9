"""Domain errors of videos, each with the HTTP status an API answers with."""

from django.conf import settings
from django.utils.translation import gettext as _

from corrosiondetector.errors import DomainError


class VideoError(DomainError):
    pass


class VideoTooLarge(VideoError):
    status_code = 413
    code = "too_large"

    def __init__(self):
        super().__init__(
            _("The file is larger than %(megabytes)s MB.") % {"megabytes": settings.VIDEO_MAX_BYTES // (1024 * 1024)}
        )


class VideoNotFound(VideoError):
    """Someone else's video: answered like one that does not exist, so that ids reveal nothing."""

    status_code = 404
    code = "not_found"


# Why the decoder refused a file, as an HTTP status.
STATUS_FOR_DECODE_CODE = {"unsupported": 415, "too_large": 413, "too_long": 413, "too_many_frames": 413}


class VideoNotShared(VideoError):
    """Frames reach the crowd only from a video its uploader chose to share (the photos' consent)."""

    status_code = 409
    code = "not_shared"

    def __init__(self):
        super().__init__(_("This video is not shared with the crowd, so its frames stay yours."))
