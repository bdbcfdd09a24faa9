"""A volunteer's "Report this photo": one report per voter and image; enough of them take it out of the quiz."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from quiz.errors import AlreadyReported, ImageNotInQuiz, QuizError
from quiz.models import Image, Report, ReportReason, Voter


@transaction.atomic
def image_report(*, image_id: int, voter_key: uuid.UUID, reason: str, ip_hash: str = "") -> Report:
    """Record the voter's report; at QUIZ_REPORTS_TO_HIDE open reports from distinct voters, hide the photo.

    Only a photo now in the quiz can be reported: an excluded one is not shown to anybody, and saying
    whether it exists would tell a stranger about private uploads.
    """
    if reason not in ReportReason.values:
        raise QuizError(_("Choose one of the reasons: %(reasons)s.") % {"reasons": ", ".join(ReportReason.values)})
    # The row lock serialises reports on one image: the duplicate check and the count below cannot race.
    image = Image.objects.select_for_update().filter(pk=image_id, excluded=False).first()
    if image is None:
        raise ImageNotInQuiz(_("There is no such photo in the quiz."))
    voter, _created = Voter.objects.get_or_create(key=voter_key, defaults={"ip_hash": ip_hash})
    if Report.objects.filter(voter=voter, image=image).exists():
        raise AlreadyReported(_("You have already reported this photo. Thank you."))
    report = Report.objects.create(image=image, voter=voter, reason=reason)
    # One report per voter (a unique constraint), so open reports are reports from distinct voters.
    image.report_count = Report.objects.filter(image=image, resolved_at__isnull=True).count()
    if image.report_count >= settings.QUIZ_REPORTS_TO_HIDE:
        image.hidden_by_reports = True
        image.refresh_excluded()
    image.save(update_fields=["report_count", "hidden_by_reports", "excluded"])
    return report
