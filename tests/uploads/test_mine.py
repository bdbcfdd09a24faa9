"""'My uploads': the voter's own photos, newest first, each with its verdict, sharing and buttons."""

import uuid
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from factories import jpeg_bytes
from uploads.identity import caller_key
from uploads.models import Upload
from uploads.services import upload_create
from uploads.views import MINE_PER_PAGE

pytestmark = pytest.mark.django_db


def browser_of(uploader) -> Client:
    client = Client()
    client.cookies = uploader.client.cookies
    return client


def test_it_lists_the_voters_uploads_newest_first_with_their_state_and_buttons(uploader):
    older = upload_create(data=jpeg_bytes(), uploader_key=uploader.key, shared=True)
    Upload.objects.filter(pk=older.pk).update(created_at=timezone.now() - timedelta(days=1))
    newer = upload_create(data=jpeg_bytes(), uploader_key=uploader.key)
    someone_elses = upload_create(data=jpeg_bytes(), uploader_key=uuid.uuid4())
    html = browser_of(uploader).get("/uploads/mine/").content.decode()
    assert html.index(f"/upload/{newer.pk}/") < html.index(f"/upload/{older.pk}/")
    assert str(someone_elses.pk) not in html
    # Unshared: its thumbnail through Django; shared: public media. Both with working forms.
    assert f'src="/uploads/{newer.pk}/thumbnail/"' in html and f'src="/media/{older.image.thumbnail.name}"' in html
    assert html.count('name="shared" value="true"') == 1 and html.count('name="shared" value="false"') == 1
    assert f'action="/upload/{newer.pk}/delete/"' in html and "csrfmiddlewaretoken" in html
    assert "Only you can see this photo." in html and "Shared with the crowd" in html


def test_it_pages_through_many_uploads(uploader):
    for _ in range(MINE_PER_PAGE + 1):
        upload_create(data=jpeg_bytes(), uploader_key=uploader.key)
    browser = browser_of(uploader)
    first = browser.get("/uploads/mine/").content.decode()
    assert first.count('class="my-upload"') == MINE_PER_PAGE and "?page=2" in first
    assert browser.get("/uploads/mine/?page=2").content.decode().count('class="my-upload"') == 1


def test_it_shows_a_newcomer_an_empty_list_without_giving_them_a_key(client):
    response = client.get("/uploads/mine/")
    assert response.status_code == 200 and "not uploaded any photo" in response.content.decode()
    # Asking issues no voter cookie (the page's forms, the language switcher's included, only get a CSRF one).
    assert set(response.cookies) <= {"csrftoken"}


def test_it_shares_and_unshares_from_the_list_and_comes_back_to_it(uploader):
    upload = upload_create(data=jpeg_bytes(), uploader_key=uploader.key)
    browser = browser_of(uploader)
    response = browser.post(f"/upload/{upload.pk}/share/", {"shared": "true", "next": "mine"})
    assert response.status_code == 302 and response["Location"] == "/uploads/mine/"
    assert Upload.objects.get().shared
    browser.post(f"/upload/{upload.pk}/share/", {"shared": "false", "next": "mine"})
    assert not Upload.objects.get().shared


def test_it_is_linked_from_the_nav_and_the_upload_page(client):
    assert 'href="/uploads/mine/"' in client.get("/upload/").content.decode().split("<main")[0]
    assert 'href="/uploads/mine/"' in client.get("/upload/").content.decode().split("<main")[1]


def test_it_knows_the_caller_by_the_voter_cookie_only(uploader, rf):
    assert caller_key(rf.get("/")) is None
    request = rf.get("/")
    request.COOKIES = dict((name, morsel.value) for name, morsel in uploader.client.cookies.items())
    assert caller_key(request) == uploader.key
