"""Reads of the uploads app."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet

from quiz.models import Voter
from uploads.models import Upload


def upload_visible(*, upload_id: uuid.UUID, viewer_key: uuid.UUID | None) -> Upload | None:
    """An upload as `viewer_key` may see it: a shared one by anyone holding its id, an unshared one by its
    uploader alone (to anyone else it does not exist)."""
    upload = Upload.objects.select_related("image", "model_version").filter(pk=upload_id).first()
    if upload is None or (not upload.shared and upload.uploader_key != viewer_key):
        return None
    return upload


def upload_of_uploader(*, upload_id: uuid.UUID, uploader_key: uuid.UUID | None) -> Upload | None:
    if uploader_key is None:
        return None
    return Upload.objects.select_related("image").filter(pk=upload_id, uploader_key=uploader_key).first()


def uploads_of(*, uploader_key: uuid.UUID | None) -> QuerySet[Upload]:
    """The uploader's uploads, newest first ("My uploads")."""
    if uploader_key is None:
        return Upload.objects.none()
    return (
        Upload.objects.filter(uploader_key=uploader_key)
        .select_related("image", "model_version")
        .order_by("-created_at", "-pk")
    )


def voter_shares_uploads(*, key: uuid.UUID | None) -> bool:
    """The voter's last answer to "Share with the crowd" (unticked for someone new)."""
    return key is not None and Voter.objects.filter(key=key, shares_uploads=True).exists()
