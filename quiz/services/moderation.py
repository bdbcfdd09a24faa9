"""Staff decisions on shared photos waiting for moderation or pulled from the quiz by reports."""

from __future__ import annotations

import logging
from collections.abc import Collection

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from quiz.errors import QuizError
from quiz.models import Image, Moderation, Report

logger = logging.getLogger(__name__)

MODERATION_FIELDS = ["moderation", "moderation_reason", "moderated_at", "hidden_by_reports", "report_count", "excluded"]


@transaction.atomic
def images_moderate(
    *, image_ids: Collection[int], approve: bool, reason: str = "", by: AbstractBaseUser | None
) -> list[Image]:
    """Approve (into the quiz, reports dismissed) or reject (out for good, with a reason) the images.

    Either way their open reports are resolved: staff have decided, so those reports no longer count
    towards hiding the photo, and later reports from other volunteers start a new count.
    """
    reason = reason.strip()
    if not approve and not reason:
        raise QuizError("A reason is needed to reject a photo.", code="reason_required")
    now = timezone.now()
    # Locked in id order, like the vote path, so two staff deciding overlapping sets cannot deadlock.
    images = list(Image.objects.select_for_update().filter(pk__in=image_ids).order_by("pk"))
    Report.objects.filter(image__in=images, resolved_at__isnull=True).update(resolved_at=now)
    for image in images:
        image.moderation = Moderation.APPROVED if approve else Moderation.REJECTED
        image.moderation_reason = "" if approve else reason[:255]
        image.moderated_at = now
        image.hidden_by_reports = False
        image.report_count = 0
        image.refresh_excluded()
    Image.objects.bulk_update(images, MODERATION_FIELDS)
    logger.info(
        "%s %s image(s) %s%s",
        by.get_username() if by is not None else "staff",
        "approved" if approve else "rejected",
        [image.pk for image in images],
        f": {reason}" if reason else "",
    )
    return images
