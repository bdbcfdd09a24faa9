import uuid

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from factories import VoterFactory, make_image
from modelzoo.selectors import labels_gained_since, training_data
from quiz.models import Image, Vote
from quiz.selectors import round_images_select

pytestmark = pytest.mark.django_db
QUEUE = "/admin/quiz/reviewitem/"


def with_votes(yes_by: dict[str, int], no_by: dict[str, int]) -> Image:
    image = make_image(label=None)
    for expertise, count in yes_by.items():
        for _ in range(count):
            Vote.objects.create(voter=VoterFactory(), image=image, corrosion=True, expertise=expertise)
    for expertise, count in no_by.items():
        for _ in range(count):
            Vote.objects.create(voter=VoterFactory(), image=image, corrosion=False, expertise=expertise)
    image.votes_yes, image.votes_no = sum(yes_by.values()), sum(no_by.values())
    image.vote_count = image.votes_yes + image.votes_no
    image.refresh_crowd_label(min_votes=5)
    image.save()
    return image


def test_it_queues_only_controversial_undecided_images_most_voted_first(admin_client):
    small = with_votes({"none": 3}, {"professional": 2})
    big = with_votes({"none": 6}, {"some": 5})
    with_votes({"none": 5}, {})  # unanimous
    with_votes({"none": 2}, {"none": 2})  # too few votes
    decided = with_votes({"none": 3}, {"none": 2})
    decided.expert_label = "corrosion"
    decided.save()
    response = admin_client.get(QUEUE)
    assert [row.pk for row in response.context["cl"].result_list] == [big.pk, small.pk]


def test_it_shows_the_vote_split_by_expertise(admin_client):
    with_votes({"none": 3, "professional": 0, "": 1}, {"professional": 2, "some": 1})
    html = admin_client.get(QUEUE).content.decode()
    assert "<tr><td>none</td><td>3 / 0</td></tr>" in html
    assert "<tr><td>some</td><td>0 / 1</td></tr>" in html
    assert "<tr><td>professional</td><td>0 / 2</td></tr>" in html
    assert "<tr><td>not given</td><td>1 / 0</td></tr>" in html


def test_it_shows_the_thumbnail_linked_to_the_full_photo(admin_client):
    image = with_votes({"none": 3}, {"some": 2})
    html = admin_client.get(QUEUE).content.decode()
    assert (
        f'<a href="{image.file.url}" target="_blank" rel="noopener"><img src="{image.thumbnail.url}" '
        f'width="{image.thumbnail_width}" height="{image.thumbnail_height}" loading="lazy"' in html
    )


def test_it_sets_an_expert_label_in_one_click_that_counts_as_a_new_label(admin_client):
    image = with_votes({"none": 3}, {"some": 2})
    before = timezone.now()
    admin_client.post(f"{QUEUE}{image.pk}/decide/", {"decision": "no_corrosion"})
    image.refresh_from_db()
    assert (image.expert_label, image.effective_label, image.label_source) == ("no_corrosion", "no_corrosion", "expert")
    assert labels_gained_since(before) == 1
    assert list(admin_client.get(QUEUE).context["cl"].result_list) == []


def test_it_excludes_with_a_reason_from_quiz_and_training(admin_client):
    image = with_votes({"none": 3}, {"some": 2})
    admin_client.post(
        f"{QUEUE}{image.pk}/decide/", {"decision": "exclude", f"reason-{image.pk}": "mill scale, not rust"}
    )
    image.refresh_from_db()
    assert image.excluded and image.excluded_reason == "mill scale, not rust"
    assert image.pk not in {i.pk for i in round_images_select(voter_key=uuid.uuid4())}
    assert not training_data().train


def test_it_refuses_to_exclude_without_a_reason(admin_client):
    image = with_votes({"none": 3}, {"some": 2})
    response = admin_client.post(f"{QUEUE}{image.pk}/decide/", {"decision": "exclude"}, follow=True)
    assert "Write a reason" in response.content.decode()
    assert not Image.objects.get(pk=image.pk).excluded


def test_it_lets_only_staff_who_may_change_images_decide(client, staff):
    image = with_votes({"none": 3}, {"some": 2})
    staff.user_permissions.add(Permission.objects.get(codename="view_image"))
    client.force_login(staff)
    assert client.post(f"{QUEUE}{image.pk}/decide/", {"decision": "corrosion"}).status_code == 403
    assert Image.objects.get(pk=image.pk).expert_label is None
    client.logout()
    response = client.post(f"{QUEUE}{image.pk}/decide/", {"decision": "corrosion"})
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def suspect(score: float, **fields) -> Image:
    image = make_image(label=fields.pop("label", "corrosion"), **fields)
    Image.objects.filter(pk=image.pk).update(label_suspect_score=score, label_suspected_at=timezone.now())
    return image


def test_it_lists_suspect_labels_most_doubted_first_apart_from_the_disagreements(admin_client):
    controversial = with_votes({"none": 3}, {"some": 2})
    mild, strong = suspect(0.6), suspect(0.93, label="no_corrosion")
    suspect(0.99, excluded=True)
    settled = suspect(0.9)
    Image.objects.filter(pk=settled.pk).update(expert_label="corrosion")
    response = admin_client.get(QUEUE + "?queue=suspect")
    assert [row.pk for row in response.context["cl"].result_list] == [strong.pk, mild.pk]
    html = response.content.decode()
    assert "<b>93%</b> likely wrong<br>label: no corrosion" in html
    assert "suspect labels" in html
    # The default queue is still the crowd's disagreements.
    assert [row.pk for row in admin_client.get(QUEUE).context["cl"].result_list] == [controversial.pk]


def test_it_settles_a_suspect_label_with_the_expert_label_in_one_click(admin_client):
    image = suspect(0.8)
    admin_client.post(f"{QUEUE}{image.pk}/decide/", {"decision": "no_corrosion"})
    image.refresh_from_db()
    assert (image.expert_label, image.effective_label) == ("no_corrosion", "no_corrosion")
    assert image.label_suspect_score is None
    assert list(admin_client.get(QUEUE + "?queue=suspect").context["cl"].result_list) == []
