"""Reads of the videos app."""

from __future__ import annotations

import uuid

from videos.models import Video


def video_visible(*, video_id: uuid.UUID, viewer_key: uuid.UUID | None) -> Video | None:
    """A video as `viewer_key` may see it: a shared one by anyone holding its id, an unshared one by its
    uploader alone (to anyone else it does not exist)."""
    video = Video.objects.select_related("model_version").filter(pk=video_id).first()
    if video is None or (not video.shared and video.uploader_key != viewer_key):
        return None
    return video


def video_of_uploader(*, video_id: uuid.UUID, uploader_key: uuid.UUID | None) -> Video | None:
    """The uploader's own video; None for anyone else, shared or not."""
    if uploader_key is None:
        return None
    return Video.objects.filter(pk=video_id, uploader_key=uploader_key).first()
