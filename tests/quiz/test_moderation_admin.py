import uuid

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission

from factories import make_image
from quiz.models import Image, Moderation, Report, ReportReason
from quiz.services.reports import image_report
from uploads.models import Upload

pytestmark = pytest.mark.django_db
QUEUE = "/admin/quiz/moderationitem/"


def pending(**fields) -> Image:
    image = make_image(label=None, moderation=Moderation.PENDING, **fields)
    image.refresh_excluded()
    image.save()
    return image


def reported_away(*reasons: str) -> Image:
    image = make_image(label=None)
    for reason in reasons:
        image_report(image_id=image.pk, voter_key=uuid.uuid4(), reason=reason)
    image.refresh_from_db()
    return image


def queued(client) -> list[int]:
    return [row.pk for row in client.get(QUEUE).context["cl"].result_list]


def test_it_queues_shared_pending_and_report_hidden_photos_oldest_first(admin_client, settings):
    settings.QUIZ_REPORTS_TO_HIDE = 2
    new = pending()
    hidden = reported_away(ReportReason.INAPPROPRIATE, ReportReason.NOT_RELEVANT)
    older = pending()
    Image.objects.filter(pk=older.pk).update(created_at=new.created_at.replace(year=2020))
    pending(shared=False)  # only its uploader sees it: nothing to moderate
    reported_away(ReportReason.INAPPROPRIATE)  # one report: still in the quiz
    make_image(label=None)
    make_image(label=None, moderation=Moderation.REJECTED)
    assert queued(admin_client) == [older.pk, new.pk, hidden.pk]


def test_it_shows_thumbnail_upload_count_and_report_reasons(admin_client, settings):
    settings.QUIZ_REPORTS_TO_HIDE = 2
    image = reported_away(ReportReason.PERSONAL_INFORMATION, ReportReason.NOT_RELEVANT)
    for _ in range(2):
        Upload.objects.create(image=image, uploader_key=uuid.uuid4(), shared=True)
    html = admin_client.get(QUEUE).content.decode()
    assert f'<img src="{image.thumbnail.url}" width="{image.thumbnail_width}"' in html
    assert f'alt="Photo {image.pk} to moderate"' in html
    assert '<td class="field-uploads">2</td>' in html
    assert "<b>2</b><ul><li>Shows personal information</li><li>Not relevant</li></ul>" in html
    assert "hidden by reports" in html


def test_it_approves_in_bulk_into_the_quiz(admin_client, settings):
    settings.QUIZ_REPORTS_TO_HIDE = 2
    images = [pending(), reported_away(ReportReason.INAPPROPRIATE, ReportReason.INAPPROPRIATE)]
    response = admin_client.post(QUEUE, {"action": "approve", "_selected_action": [i.pk for i in images]}, follow=True)
    assert "Approved 2 photo(s)" in response.content.decode()
    for image in Image.objects.filter(pk__in=[i.pk for i in images]):
        assert (image.moderation, image.hidden_by_reports, image.excluded) == (Moderation.APPROVED, False, False)
    assert not Report.objects.filter(resolved_at__isnull=True).exists()
    assert queued(admin_client) == []
    assert LogEntry.objects.filter(change_message="Approved").count() == 2


def test_it_asks_for_a_reason_before_rejecting(admin_client):
    image, other = pending(), pending()
    response = admin_client.post(QUEUE, {"action": "reject", "_selected_action": [image.pk]})
    html = response.content.decode()
    assert response.status_code == 200
    assert '<input type="text" id="reject-reason" name="reason" value="" maxlength="255" required autofocus>' in html
    assert f'<input type="hidden" name="_selected_action" value="{image.pk}">' in html
    assert f'value="{other.pk}"' not in html
    assert Image.objects.get(pk=image.pk).moderation == Moderation.PENDING  # nothing decided yet


def test_it_rejects_with_the_reason_from_the_page(admin_client):
    image, other = pending(), pending()
    form = {"action": "reject", "_selected_action": [image.pk], "post": "yes", "reason": "a person's face"}
    response = admin_client.post(QUEUE, form, follow=True)
    assert "Rejected 1 photo(s)" in response.content.decode()
    image.refresh_from_db()
    assert (image.moderation, image.moderation_reason, image.excluded) == (Moderation.REJECTED, "a person's face", True)
    assert queued(admin_client) == [other.pk]


def test_it_shows_the_page_again_when_the_reason_is_empty(admin_client):
    image = pending()
    form = {"action": "reject", "_selected_action": [image.pk], "post": "yes", "reason": " "}
    response = admin_client.post(QUEUE, form)
    assert response.status_code == 400
    assert "A reason is needed" in response.content.decode()
    assert Image.objects.get(pk=image.pk).moderation == Moderation.PENDING


def test_it_is_keyboard_friendly(admin_client):
    pending()
    html = admin_client.get(QUEUE).content.decode()
    assert 'accesskey="m"' in html and 'accesskey="g"' in html
    assert 'id="moderation-keys"' in html and "outline: 4px solid" in html
    assert '<option value="approve">' in html and '<option value="reject">' in html
    assert "delete_selected" not in html
    # The action menu comes before the rows' checkboxes, which come in row order.
    assert html.index('name="action"') < html.index('class="action-select"')


def test_it_lets_only_staff_who_may_change_images_in(client, staff):
    image = pending()
    staff.user_permissions.add(
        Permission.objects.get(codename="view_image"), Permission.objects.get(codename="view_moderationitem")
    )
    client.force_login(staff)
    assert client.get(QUEUE).status_code == 403
    response = client.post(QUEUE, {"action": "approve", "_selected_action": [image.pk]})
    assert response.status_code == 403
    assert Image.objects.get(pk=image.pk).moderation == Moderation.PENDING
    staff.user_permissions.add(Permission.objects.get(codename="change_image"))
    client.force_login(staff)
    assert client.get(QUEUE).status_code == 200
    client.logout()
    response = client.get(QUEUE)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_it_shows_reports_with_filters_and_on_the_image(admin_client):
    image = reported_away(ReportReason.PERSONAL_INFORMATION)
    reports = admin_client.get("/admin/quiz/report/", {"reason": "personal_information", "resolved": "no"})
    assert [r.image_id for r in reports.context["cl"].result_list] == [image.pk]
    assert admin_client.get("/admin/quiz/report/", {"resolved": "yes"}).context["cl"].result_list.count() == 0
    html = admin_client.get(f"/admin/quiz/image/{image.pk}/change/").content.decode()
    assert "Shows personal information" in html


@pytest.mark.parametrize("mode", ["pre", "post", "off"])
def test_it_queues_report_hidden_photos_under_every_mode_but_approved_uploads_never(admin_client, settings, mode):
    settings.UPLOAD_MODERATION = mode
    settings.QUIZ_REPORTS_TO_HIDE = 1
    # What an upload shared under "post" or "off" starts as: approved, in the quiz at once.
    upload_image = make_image(label=None, source="upload", moderation=Moderation.APPROVED)
    Upload.objects.create(image=upload_image, uploader_key=uuid.uuid4(), shared=True)
    hidden = reported_away(ReportReason.INAPPROPRIATE)
    assert queued(admin_client) == [hidden.pk]
