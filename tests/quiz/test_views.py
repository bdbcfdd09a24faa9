import re

import pytest
from django.test import Client

from factories import make_image
from quiz.models import Image, Vote, Voter

pytestmark = pytest.mark.django_db


@pytest.fixture
def pool():
    return [make_image(label=None) for _ in range(8)]


def form_fields(html: str) -> tuple[str, list[int]]:
    token = re.search(r'name="round" value="([^"]+)"', html).group(1)
    ids = [int(v) for v in re.findall(r'name="corrosion" value="(\d+)"', html)]
    return token, ids


def test_it_shows_the_question_and_four_images_with_alt_text(client, pool, settings):
    html = client.get("/").content.decode()
    assert "Please select the images in which you see any signs of corrosion." in html
    assert len(re.findall(r'<input type="checkbox" name="corrosion"', html)) == 4
    alts = re.findall(r'alt="([^"]*)"', html)
    assert len(alts) == 4 and all("corrosion" in alt for alt in alts)
    assert 'name="viewport"' in html


def test_it_records_a_submitted_round_and_shows_the_next(pool):
    client = Client(enforce_csrf_checks=True)
    html = client.get("/").content.decode()
    token, ids = form_fields(html)
    csrf = client.cookies["csrftoken"].value
    response = client.post("/", {"round": token, "corrosion": [ids[1]], "csrfmiddlewaretoken": csrf}, follow=True)
    assert response.status_code == 200
    assert "4 answers recorded" in response.content.decode()
    assert Vote.objects.count() == 4
    assert Vote.objects.get(image_id=ids[1]).corrosion is True
    _, next_ids = form_fields(response.content.decode())
    assert not set(next_ids) & set(ids)


def test_it_explains_a_double_submit_instead_of_failing(client, pool):
    token, ids = form_fields(client.get("/").content.decode())
    client.post("/", {"round": token})
    response = client.post("/", {"round": token, "corrosion": [ids[0]]}, follow=True)
    assert "already voted" in response.content.decode()
    assert Vote.objects.count() == 4


def test_it_rejects_garbage_form_values(client, pool):
    token, _ = form_fields(client.get("/").content.decode())
    response = client.post("/", {"round": token, "corrosion": ["abc"]}, follow=True)
    assert "not filled in correctly" in response.content.decode()
    assert Vote.objects.count() == 0


def test_it_says_so_when_nothing_is_left_to_label(client):
    assert "Nothing left to label" in client.get("/").content.decode()


def test_it_saves_self_reported_expertise(client):
    client.get("/")
    client.post("/expertise/", {"expertise": "some"})
    assert Voter.objects.get().expertise == "some"
    response = client.post("/expertise/", {"expertise": "wizard"}, follow=True)
    assert "choose one of the listed options" in response.content.decode()
    assert Voter.objects.get().expertise == "some"


def img_tags(html: str) -> list[str]:
    return re.findall(r"<img\b[^>]*>", html)


def test_it_shows_thumbnails_with_their_size_and_lazy_loading(client, pool):
    tags = img_tags(client.get("/").content.decode())
    assert len(tags) == 4
    images = {image.thumbnail.url: image for image in Image.objects.all()}
    for tag in tags:
        src = re.search(r'src="([^"]+)"', tag).group(1)
        assert src.startswith("/media/thumbnails/") and src in images
        image = images[src]
        assert f'width="{image.thumbnail_width}"' in tag and f'height="{image.thumbnail_height}"' in tag
        assert 'loading="lazy"' in tag


def test_it_shows_the_full_photo_of_an_image_without_a_thumbnail_yet(client, pool):
    Image.objects.update(thumbnail="", thumbnail_width=None, thumbnail_height=None)
    tags = img_tags(client.get("/").content.decode())
    assert len(tags) == 4
    assert all('src="/media/images/' in tag and 'width="64" height="48"' in tag for tag in tags)
