import base64
import csv
import io
import re
import zipfile

import pytest
from django.contrib.auth.models import Group, User
from django.http import StreamingHttpResponse

from factories import make_image
from modelzoo.setup import RESEARCHERS
from quiz.models import Label, Split

pytestmark = pytest.mark.django_db
URL = "/api/dataset/export/"


def login(api_client, who: str) -> None:
    if who == "anonymous":
        return
    user = User.objects.create_user(who, password="pw", is_staff=who in ("staff", "admin"), is_superuser=who == "admin")
    if who == "researcher":
        user.groups.add(Group.objects.get(name=RESEARCHERS))
    api_client.force_authenticate(user)


def unzip(response) -> zipfile.ZipFile:
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert archive.testzip() is None
    return archive


@pytest.fixture
def staff(api_client):
    login(api_client, "staff")
    return api_client


@pytest.mark.parametrize(
    "who,status",
    [("anonymous", 401), ("volunteer", 403), ("researcher", 403), ("staff", 200), ("admin", 200)],
)
def test_it_serves_the_export_to_staff_only(api_client, who, status):
    make_image(label=Label.CORROSION)
    login(api_client, who)
    response = api_client.get(URL)
    assert response.status_code == status
    if status == 401:
        assert response["WWW-Authenticate"].startswith("Basic")


def test_it_streams_a_zip_download_with_a_dated_filename(staff):
    image = make_image(label=Label.CORROSION)
    response = staff.get(URL)
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "application/zip"
    assert re.fullmatch(r'attachment; filename="corrosion-dataset-\d{8}-\d{6}\.zip"', response["Content-Disposition"])
    assert "no-store" in response["Cache-Control"]
    archive = unzip(response)
    assert archive.namelist() == [f"train/corrosion/{image.sha256[:16]}.jpg", "labels.csv", "README.md"]


def test_it_applies_the_query_options(staff):
    for _ in range(2):
        make_image(label=None, votes_yes=5, vote_count=5)
    make_image(label=None, votes_no=5, vote_count=5)
    make_image(label=Label.NO_CORROSION)  # no votes: below the floor
    make_image(split=Split.VALIDATION, label=Label.CORROSION)
    response = staff.get(URL, {"balanced": "1", "min_votes": "5", "split": "train"})
    rows = list(csv.DictReader(io.StringIO(unzip(response).read("labels.csv").decode())))
    assert sorted((row["split"], row["effective_label"]) for row in rows) == [
        ("train", "corrosion"),
        ("train", "no_corrosion"),
    ]


def test_it_never_sends_excluded_images(staff):
    make_image(label=Label.CORROSION, excluded=True, excluded_reason="a licence plate")
    archive = unzip(staff.get(URL, {"split": "all", "min_votes": "0"}))
    assert archive.namelist() == ["labels.csv", "README.md"]


@pytest.mark.parametrize(
    "query,field",
    [
        ({"split": "test"}, "split"),
        ({"min_votes": "-1"}, "min_votes"),
        ({"min_votes": "five"}, "min_votes"),
        ({"balanced": "perhaps"}, "balanced"),
    ],
)
def test_it_refuses_bad_parameters_with_400(staff, query, field):
    response = staff.get(URL, query)
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_it_sends_the_zip_to_clients_that_ask_for_one(staff):
    make_image(label=Label.CORROSION)
    response = staff.get(URL, HTTP_ACCEPT="application/zip")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"


def test_it_accepts_basic_auth_for_scripts(api_client):
    User.objects.create_user("staff", password="pw", is_staff=True)
    credentials = base64.b64encode(b"staff:pw").decode()
    response = api_client.get(URL, HTTP_AUTHORIZATION=f"Basic {credentials}")
    assert response.status_code == 200
    assert "README.md" in unzip(response).namelist()
