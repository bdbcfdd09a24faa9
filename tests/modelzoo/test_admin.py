import pytest

from factories import make_model_version
from modelzoo.models import ModelVersion, TrainingRun
from modelzoo.services import model_version_promote

pytestmark = pytest.mark.django_db


def test_it_shows_versions_with_accuracy_and_confusion_matrix(admin_client):
    version = make_model_version(version=1, val_accuracy=0.875)
    assert "87.50%" in admin_client.get("/admin/modelzoo/modelversion/").content.decode()
    detail = admin_client.get(f"/admin/modelzoo/modelversion/{version.pk}/change/").content.decode()
    assert "true \\ predicted" in detail and "val acc." in detail


def test_it_shows_balanced_accuracy_and_calibration_error_before_and_after(admin_client):
    version = make_model_version(version=1, val_accuracy=0.875)
    ModelVersion.objects.filter(pk=version.pk).update(
        balanced_accuracy=0.8, ece=0.087, ece_calibrated=0.038, temperature=0.713
    )
    listing = admin_client.get("/admin/modelzoo/modelversion/").content.decode()
    assert "80.00%" in listing and "8.7% → 3.8% (T 0.71)" in listing
    detail = admin_client.get(f"/admin/modelzoo/modelversion/{version.pk}/change/").content.decode()
    assert "0.713" in detail and "selection acc." in detail


def test_it_shows_a_dash_for_versions_trained_before_calibration(admin_client):
    make_model_version(version=1, val_accuracy=0.875)
    listing = admin_client.get("/admin/modelzoo/modelversion/").content.decode()
    assert "ECE raw → calibrated" in listing and "(T " not in listing


def test_it_links_the_model_file_to_its_download_api_not_to_media(admin_client):
    version = make_model_version(version=1, val_accuracy=0.875)
    detail = admin_client.get(f"/admin/modelzoo/modelversion/{version.pk}/change/").content.decode()
    assert f'<a href="/api/models/1/onnx/">{version.onnx.name}</a>' in detail
    assert "/media/models/" not in detail
    assert admin_client.get("/api/models/1/onnx/").status_code == 200


def test_it_promotes_and_rolls_back_with_admin_actions(admin_client):
    first = make_model_version(version=1, val_accuracy=0.9)
    model_version_promote(version_id=first.pk)
    worse = make_model_version(version=2, val_accuracy=0.5)
    admin_client.post("/admin/modelzoo/modelversion/", {"action": "promote", "_selected_action": [worse.pk]})
    assert ModelVersion.objects.get(pk=worse.pk).status == "active"
    admin_client.post("/admin/modelzoo/modelversion/", {"action": "rollback", "_selected_action": [worse.pk]})
    assert dict(ModelVersion.objects.values_list("version", "status")) == {1: "active", 2: "candidate"}


def test_it_queues_a_retrain_from_the_admin(admin_client, django_capture_on_commit_callbacks):
    version = make_model_version(version=1, val_accuracy=0.9)
    with django_capture_on_commit_callbacks() as callbacks:
        admin_client.post("/admin/modelzoo/modelversion/", {"action": "retrain", "_selected_action": [version.pk]})
    assert TrainingRun.objects.filter(state="queued", triggered_by="user:admin").count() == 1
    assert len(callbacks) == 1


def test_it_hides_model_actions_from_staff_without_permissions(client, staff):
    from django.contrib.auth.models import Permission

    staff.user_permissions.add(Permission.objects.get(codename="view_modelversion"))
    client.force_login(staff)
    version = make_model_version(version=1, val_accuracy=0.9)
    client.post("/admin/modelzoo/modelversion/", {"action": "promote", "_selected_action": [version.pk]})
    assert ModelVersion.objects.get(pk=version.pk).status == "candidate"
