import csv
import io
import os
import tracemalloc
import zipfile
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.http import StreamingHttpResponse
from rest_framework.test import APIClient

from factories import make_image
from quiz.dataset_export import export_queryset, zip_stream
from quiz.models import Label, Split

pytestmark = pytest.mark.django_db


def unzip(data: bytes) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(data))


def test_it_exports_only_labelled_unexcluded_images():
    kept = make_image(label=Label.CORROSION)
    make_image(label=None)
    make_image(label=Label.CORROSION, excluded=True)
    assert [i.pk for i in export_queryset()] == [kept.pk]


def test_it_applies_the_vote_floor_but_not_to_expert_labels():
    voted = make_image(label=None, votes_yes=5, vote_count=5)
    make_image(label=Label.CORROSION, votes_yes=1, vote_count=1)  # imported label, too few votes
    expert = make_image(split=Split.VALIDATION, label=Label.NO_CORROSION)
    assert {i.pk for i in export_queryset(min_votes=5)} == {voted.pk, expert.pk}


def test_it_balances_classes_within_each_split():
    for _ in range(3):
        make_image(label=Label.CORROSION)
    make_image(label=Label.NO_CORROSION)
    for label in (Label.CORROSION, Label.NO_CORROSION, Label.NO_CORROSION):
        make_image(split=Split.VALIDATION, label=label)
    chosen = export_queryset(balanced=True)
    counts = {(i.split, i.effective_label) for i in chosen}
    assert len(chosen) == 4 and len(counts) == 4
    assert export_queryset(balanced=True) == chosen  # deterministic


def test_it_filters_by_split_and_refuses_unknown_ones():
    make_image(label=Label.CORROSION)
    make_image(split=Split.VALIDATION)
    assert {i.split for i in export_queryset(split="validation")} == {"validation"}
    with pytest.raises(ValueError):
        export_queryset(split="test")


def test_it_writes_imagefolder_layout_labels_csv_and_readme():
    images = [make_image(label=Label.CORROSION), make_image(split=Split.VALIDATION, label=Label.NO_CORROSION)]
    archive = unzip(b"".join(zip_stream(export_queryset())))
    names = archive.namelist()
    assert any(n.startswith("train/corrosion/") and n.endswith(".jpg") for n in names)
    assert any(n.startswith("validation/no_corrosion/") for n in names)
    rows = list(csv.DictReader(io.StringIO(archive.read("labels.csv").decode())))
    assert [r["split"] for r in rows] == ["train", "validation"]
    assert set(rows[0]) == {
        "file",
        "split",
        "effective_label",
        "label_source",
        "yes_votes",
        "no_votes",
        "agreement",
        "expert_label",
    }
    assert rows[1]["expert_label"] == "no_corrosion" and rows[0]["label_source"] == "imported"
    readme = archive.read("README.md").decode()
    assert "| train | 1 | 0 |" in readme and "| validation | 0 | 1 |" in readme and "Exported" in readme
    with images[0].file.open("rb") as original:
        assert archive.read(rows[0]["file"]) == original.read()


def test_it_streams_in_chunks_without_holding_the_zip_in_memory():
    for _ in range(12):
        image = make_image(label=Label.CORROSION)
        with image.file.open("wb") as handle:  # make each photo big: 256 KB of noise
            handle.write(os.urandom(256 * 1024))
    images = export_queryset()
    tracemalloc.start()
    total, chunks = 0, 0
    for chunk in zip_stream(images):
        total += len(chunk)
        chunks += 1
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert total > 12 * 256 * 1024 and chunks > 12
    assert peak < total / 4


def test_it_exports_from_the_command_line(tmp_path):
    make_image(label=Label.CORROSION)
    out = tmp_path / "set.zip"
    output = StringIO()
    call_command("export_dataset", str(out), "--balanced", "--min-votes", "0", stdout=output)
    assert "Exported 0 images" in output.getvalue()  # balanced with one class only
    call_command("export_dataset", str(out), stdout=output)
    assert len([n for n in unzip(out.read_bytes()).namelist() if n.endswith(".jpg")]) == 1
    with pytest.raises(CommandError, match=".zip"):
        call_command("export_dataset", str(tmp_path / "set.tar"))
    with pytest.raises(CommandError):
        call_command("export_dataset", str(out), "--split", "test")


@pytest.mark.parametrize("who,status", [("anonymous", 401), ("volunteer", 403), ("staff", 200)])
def test_it_serves_the_export_to_staff_only(who, status):
    make_image(label=Label.CORROSION)
    client = APIClient()
    if who != "anonymous":
        client.force_authenticate(User.objects.create_user(who, is_staff=who == "staff"))
    response = client.get("/api/dataset/export/?balanced=0&split=all")
    assert response.status_code == status
    if status == 200:
        assert isinstance(response, StreamingHttpResponse)
        assert response["Content-Disposition"].startswith('attachment; filename="corrosion-dataset-')
        assert "labels.csv" in unzip(b"".join(response.streaming_content)).namelist()


def test_it_refuses_bad_export_parameters():
    client = APIClient()
    client.force_authenticate(User.objects.create_user("staff", is_staff=True))
    assert client.get("/api/dataset/export/?split=test").status_code == 400
    assert client.get("/api/dataset/export/?min_votes=-1").status_code == 400


def test_it_exports_the_admin_selection(client):
    client.force_login(User.objects.create_superuser("admin", "a@example.com", "pw"))
    chosen = make_image(label=Label.CORROSION)
    make_image(label=Label.NO_CORROSION)
    response = client.post("/admin/quiz/image/", {"action": "export_selected", "_selected_action": [chosen.pk]})
    archive = unzip(b"".join(response.streaming_content))
    assert len([n for n in archive.namelist() if n.endswith(".jpg")]) == 1
