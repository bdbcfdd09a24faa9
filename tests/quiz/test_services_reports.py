import uuid

import pytest

from factories import make_image
from quiz.errors import AlreadyReported, ImageNotInQuiz, QuizError
from quiz.models import Image, Moderation, Report, ReportReason
from quiz.selectors import round_images_select
from quiz.services.moderation import images_moderate
from quiz.services.reports import image_report

pytestmark = pytest.mark.django_db


def report(image, key=None, reason=ReportReason.INAPPROPRIATE):
    return image_report(image_id=image.pk, voter_key=key or uuid.uuid4(), reason=reason)


def test_it_records_a_report_with_its_reason_and_counts_it(postgres):
    image = make_image(label=None)
    made = report(image, reason=ReportReason.PERSONAL_INFORMATION)
    image.refresh_from_db()
    assert (made.image_id, made.reason, made.resolved_at) == (image.pk, "personal_information", None)
    assert (image.report_count, image.hidden_by_reports, image.excluded) == (1, False, False)


def test_it_hides_the_photo_at_the_threshold_of_distinct_voters(postgres, settings):
    settings.QUIZ_REPORTS_TO_HIDE = 3
    image = make_image(label=None)
    report(image)
    report(image, reason=ReportReason.NOT_RELEVANT)
    assert not Image.objects.get(pk=image.pk).excluded
    report(image)
    image.refresh_from_db()
    assert (image.report_count, image.hidden_by_reports, image.excluded) == (3, True, True)
    assert image.pk not in {i.pk for i in round_images_select(voter_key=uuid.uuid4())}


def test_it_takes_one_report_per_voter_and_changes_nothing_on_a_second(postgres, settings):
    settings.QUIZ_REPORTS_TO_HIDE = 2
    image = make_image(label=None)
    key = uuid.uuid4()
    report(image, key)
    with pytest.raises(AlreadyReported):
        report(image, key, reason=ReportReason.NOT_RELEVANT)
    image.refresh_from_db()
    assert (image.report_count, image.hidden_by_reports, image.excluded) == (1, False, False)
    assert list(Report.objects.values_list("reason", flat=True)) == ["inappropriate"]


@pytest.mark.parametrize(
    "fields",
    [{"excluded": True}, {"shared": False}, {"moderation": Moderation.PENDING}, {"moderation": Moderation.REJECTED}],
)
def test_it_refuses_a_photo_that_is_not_in_the_quiz(postgres, fields):
    image = make_image(label=None, **fields)
    image.refresh_excluded()
    image.save()
    with pytest.raises(ImageNotInQuiz):
        report(image)
    with pytest.raises(ImageNotInQuiz):
        image_report(image_id=10**9, voter_key=uuid.uuid4(), reason=ReportReason.INAPPROPRIATE)
    assert not Report.objects.exists()


def test_it_refuses_an_unknown_reason(postgres):
    image = make_image(label=None)
    with pytest.raises(QuizError) as refused:
        report(image, reason="ugly")
    assert refused.value.status_code == 400
    assert not Report.objects.exists()


def test_it_counts_only_reports_made_after_staff_kept_the_photo(postgres, staff, settings):
    settings.QUIZ_REPORTS_TO_HIDE = 2
    image = make_image(label=None)
    report(image)
    report(image)
    images_moderate(image_ids=[image.pk], approve=True, by=staff)
    report(image)
    image.refresh_from_db()
    assert (image.report_count, image.hidden_by_reports, image.excluded) == (1, False, False)
    report(image)
    image.refresh_from_db()
    assert (image.report_count, image.hidden_by_reports, image.excluded) == (2, True, True)
