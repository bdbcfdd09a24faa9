import io
import zipfile

import pytest
from django.contrib.auth.models import Permission, User
from django.http import StreamingHttpResponse

from factories import make_image
from quiz.models import Label

pytestmark = pytest.mark.django_db
CHANGELIST = "/admin/quiz/image/"


def export(client, images, **extra):
    return client.post(
        CHANGELIST, {"action": "export_selected_images", "_selected_action": [i.pk for i in images]}, **extra
    )


def photos(response) -> list[str]:
    assert isinstance(response, StreamingHttpResponse)
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert archive.testzip() is None
    return [name for name in archive.namelist() if name not in ("labels.csv", "README.md")]


def test_it_exports_the_selected_images_as_a_zip(client):
    client.force_login(User.objects.create_superuser("admin", "admin@example.com", "pw"))
    chosen = make_image(label=Label.CORROSION)
    make_image(label=Label.NO_CORROSION)
    response = export(client, [chosen])
    assert response["Content-Disposition"].startswith('attachment; filename="corrosion-dataset-')
    assert photos(response) == [f"train/corrosion/{chosen.sha256[:16]}.jpg"]


def test_it_keeps_excluded_and_unlabelled_images_out_of_the_selection(client):
    client.force_login(User.objects.create_superuser("admin", "admin@example.com", "pw"))
    chosen = make_image(label=Label.NO_CORROSION)
    excluded = make_image(label=Label.CORROSION, excluded=True)
    unlabelled = make_image(label=None)
    assert photos(export(client, [chosen, excluded, unlabelled])) == [f"train/no_corrosion/{chosen.sha256[:16]}.jpg"]


def test_it_needs_only_the_view_permission(client):
    user = User.objects.create_user("viewer", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_image"))
    client.force_login(user)
    image = make_image(label=Label.CORROSION)
    assert len(photos(export(client, [image]))) == 1


def test_it_says_so_when_nothing_selected_can_leave(client):
    client.force_login(User.objects.create_superuser("admin", "admin@example.com", "pw"))
    excluded = make_image(label=Label.CORROSION, excluded=True)
    response = export(client, [excluded], follow=True)
    assert response.redirect_chain[-1][0].startswith(CHANGELIST)
    assert "Nothing to export" in response.content.decode()
