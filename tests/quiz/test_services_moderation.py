import uuid

import pytest

from factories import make_image
from quiz.errors import QuizError
from quiz.models import Image, Moderation, Report, ReportReason
from quiz.selectors import round_images_select
from quiz.services.moderation import images_moderate
from quiz.services.reports import image_report

pytestmark = pytest.mark.django_db


def pending(**fields) -> Image:
    image = make_image(label=None, moderation=Moderation.PENDING, **fields)
    image.refresh_excluded()
    image.save()
    return image


def reported_away(settings) -> Image:
    settings.QUIZ_REPORTS_TO_HIDE = 2
    image = make_image(label=None)
    for _ in range(2):
        image_report(image_id=image.pk, voter_key=uuid.uuid4(), reason=ReportReason.INAPPROPRIATE)
    image.refresh_from_db()
    assert image.excluded
    return image


def in_quiz(image: Image) -> bool:
    # Every image of a small pool is served in a few rounds of a fresh voter.
    return image.pk in {i.pk for _ in range(5) for i in round_images_select(voter_key=uuid.uuid4())}


def test_it_approves_a_pending_photo_into_the_quiz(postgres, staff):
    image = pending()
    assert not in_quiz(image)
    images_moderate(image_ids=[image.pk], approve=True, by=staff)
    image.refresh_from_db()
    assert (image.moderation, image.excluded, image.moderation_reason) == (Moderation.APPROVED, False, "")
    assert image.moderated_at is not None
    assert in_quiz(image)


def test_it_approves_a_reported_photo_back_and_resolves_its_reports(postgres, staff, settings):
    image = reported_away(settings)
    images_moderate(image_ids=[image.pk], approve=True, by=staff)
    image.refresh_from_db()
    assert (image.hidden_by_reports, image.report_count, image.excluded) == (False, 0, False)
    assert not Report.objects.filter(image=image, resolved_at__isnull=True).exists()
    assert Report.objects.filter(image=image).count() == 2  # kept, for the record


def test_it_rejects_with_a_reason_for_good(postgres, staff, settings):
    image = reported_away(settings)
    other = pending()
    images_moderate(image_ids=[image.pk, other.pk], approve=False, reason="  shows a face  ", by=staff)
    for each in Image.objects.filter(pk__in=[image.pk, other.pk]):
        assert (each.moderation, each.moderation_reason, each.excluded) == (Moderation.REJECTED, "shows a face", True)
        assert not each.hidden_by_reports and each.moderated_at is not None
    assert not Report.objects.filter(resolved_at__isnull=True).exists()


def test_it_refuses_to_reject_without_a_reason_and_changes_nothing(postgres, staff, settings):
    image = reported_away(settings)
    with pytest.raises(QuizError) as refused:
        images_moderate(image_ids=[image.pk], approve=False, reason="  ", by=staff)
    assert (refused.value.status_code, refused.value.code) == (400, "reason_required")
    image.refresh_from_db()
    assert (image.moderation, image.hidden_by_reports, image.moderated_at) == (Moderation.APPROVED, True, None)
    assert Report.objects.filter(resolved_at__isnull=True).count() == 2


def test_it_keeps_an_approved_but_unshared_upload_out_of_the_quiz(postgres, staff):
    image = pending(shared=False)
    images_moderate(image_ids=[image.pk], approve=True, by=staff)
    image.refresh_from_db()
    assert image.moderation == Moderation.APPROVED and image.excluded
