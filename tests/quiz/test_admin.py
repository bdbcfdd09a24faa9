import pytest

from factories import VoteFactory, VoterFactory, make_image
from quiz.models import Image, Label, LabelSource, Split

pytestmark = pytest.mark.django_db


def test_it_lists_images_with_thumbnails_votes_and_agreement(admin_client):
    make_image(label=None, votes_yes=3, votes_no=2, vote_count=5)
    html = admin_client.get("/admin/quiz/image/").content.decode()
    image = Image.objects.get()
    assert (
        f'<img src="{image.thumbnail.url}" width="{image.thumbnail_width}" height="{image.thumbnail_height}" '
        'loading="lazy"' in html
    )
    assert image.thumbnail.url.startswith("/media/thumbnails/")
    assert "60%" in html


def test_it_filters_controversial_images(admin_client, settings):
    settings.QUIZ_MIN_VOTES = 5
    split = make_image(label=None, votes_yes=3, votes_no=2, vote_count=5)
    make_image(label=None, votes_yes=5, votes_no=0, vote_count=5)
    make_image(label=None, votes_yes=1, votes_no=1, vote_count=2)  # even split, too few votes
    response = admin_client.get("/admin/quiz/image/?controversial=yes")
    assert [row.pk for row in response.context["cl"].result_list] == [split.pk]


def test_it_filters_by_split_and_labelled(admin_client):
    make_image(split=Split.VALIDATION)
    unlabelled = make_image(label=None)
    response = admin_client.get("/admin/quiz/image/?labelled=no")
    assert [row.pk for row in response.context["cl"].result_list] == [unlabelled.pk]
    response = admin_client.get("/admin/quiz/image/?split__exact=validation")
    assert len(response.context["cl"].result_list) == 1


def test_it_sets_expert_labels_with_an_action(admin_client):
    image = make_image(label=None, votes_yes=5, vote_count=5)
    assert image.effective_label == Label.CORROSION
    admin_client.post(
        "/admin/quiz/image/", {"action": "mark_no_corrosion", "_selected_action": [image.pk]}, follow=True
    )
    image.refresh_from_db()
    assert (image.expert_label, image.effective_label, image.label_source) == (
        Label.NO_CORROSION,
        Label.NO_CORROSION,
        LabelSource.EXPERT,
    )


def test_it_keeps_votes_read_only_and_avoids_a_full_count(admin_client, django_assert_max_num_queries):
    voter = VoterFactory()
    for _ in range(3):
        VoteFactory(voter=voter, image=make_image(label=None))
    with django_assert_max_num_queries(8):
        response = admin_client.get("/admin/quiz/vote/")
    assert response.status_code == 200
    vote = response.context["cl"].result_list[0]
    assert admin_client.get(f"/admin/quiz/vote/{vote.pk}/change/").status_code == 200
    assert admin_client.post(f"/admin/quiz/vote/{vote.pk}/delete/", {"post": "yes"}).status_code == 403
    assert admin_client.get("/admin/quiz/vote/add/").status_code == 403


def test_it_keeps_anonymous_users_out(client):
    response = client.get("/admin/quiz/image/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_it_lets_staff_with_only_view_permission_look_but_not_label(client, staff):
    from django.contrib.auth.models import Permission

    staff.user_permissions.add(Permission.objects.get(codename="view_image"))
    client.force_login(staff)
    image = make_image(label=None)
    assert client.get("/admin/quiz/image/").status_code == 200
    client.post("/admin/quiz/image/", {"action": "mark_corrosion", "_selected_action": [image.pk]})
    assert Image.objects.get(pk=image.pk).expert_label is None


def test_it_does_not_show_staff_an_unshared_upload(admin_client):
    image = make_image(label=None, shared=False)
    for url in ("/admin/quiz/image/", f"/admin/quiz/image/{image.pk}/change/"):
        page = admin_client.get(url).content.decode()
        assert "private (not shared by its uploader)" in page and image.file.url not in page


def test_it_filters_suspect_labels(admin_client):
    suspect = make_image(label=Label.CORROSION)
    make_image(label=Label.CORROSION)
    Image.objects.filter(pk=suspect.pk).update(label_suspect_score=0.7)
    response = admin_client.get("/admin/quiz/image/?suspect=yes")
    assert [row.pk for row in response.context["cl"].result_list] == [suspect.pk]
    assert len(admin_client.get("/admin/quiz/image/?suspect=no").context["cl"].result_list) == 1
