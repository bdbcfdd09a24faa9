import json
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from factories import make_image
from modelzoo.inference import classifier_for
from modelzoo.models import ModelVersion
from quiz.demo_images import make_demo_image
from quiz.models import Label, Split

pytestmark = pytest.mark.django_db


@pytest.fixture
def pool():
    for i in range(8):
        make_image(label=Label.CORROSION if i % 2 else Label.NO_CORROSION)
    for i in range(4):
        make_image(split=Split.VALIDATION, label=Label.CORROSION if i % 2 else Label.NO_CORROSION)


@pytest.fixture
def tiny_training(settings):
    settings.TRAINING_CONFIG = {"width": 4, "input_size": 32, "batch_size": 8}


def test_it_trains_from_the_command_line_and_reports(pool, tiny_training):
    out = StringIO()
    call_command("train", "--epochs", "1", stdout=out)
    assert "v1: validation accuracy" in out.getvalue() and "active" in out.getvalue()
    assert ModelVersion.objects.get().status == "active"


def test_it_reports_the_new_version_as_json(pool, tiny_training):
    out = StringIO()
    call_command("train", "--epochs", "1", "--json", stdout=out)
    report = json.loads(out.getvalue())
    version = ModelVersion.objects.get()
    assert report["version"] == version.version and report["status"] == "active"
    assert report["val_accuracy"] == pytest.approx(version.val_accuracy)
    assert report["n_train_images"] == 8


def test_it_registers_a_candidate_with_no_promote(pool, tiny_training):
    call_command("train", "--epochs", "1", "--no-promote", stdout=StringIO())
    assert ModelVersion.objects.get().status == "candidate"


def test_it_skips_training_when_a_model_is_active_and_asked_to(pool, tiny_training):
    call_command("train", "--epochs", "1", stdout=StringIO())
    out = StringIO()
    call_command("train", "--if-no-model", stdout=out)
    assert "not training" in out.getvalue()
    assert ModelVersion.objects.count() == 1


def test_it_fails_the_command_without_data():
    with pytest.raises(CommandError, match="Training failed"):
        call_command("train", "--epochs", "1", stdout=StringIO())


def test_it_classifies_files_and_directories_as_json_lines(pool, tiny_training, tmp_path, capsys):
    call_command("train", "--epochs", "1", stdout=StringIO())
    folder = tmp_path / "photos" / "nested"
    folder.mkdir(parents=True)
    make_demo_image(Label.CORROSION, seed=1).save(folder / "a.jpg")
    make_demo_image(Label.NO_CORROSION, seed=2).save(tmp_path / "photos" / "b.png")
    (tmp_path / "photos" / "notes.txt").write_text("not an image")
    out = StringIO()
    call_command("classify", str(tmp_path / "photos"), "--json", stdout=out)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [Path(line["path"]).name for line in lines] == ["b.png", "a.jpg"]
    version = ModelVersion.objects.get(version=1)
    expected = classifier_for(version).classify([line["path"] for line in lines])
    for line, verdict in zip(lines, expected):
        assert (line["label"], line["probability"]) == (verdict.label, pytest.approx(verdict.probability, abs=1e-5))
        assert line["model_version"] == 1


def test_it_exits_1_for_an_unreadable_file_but_classifies_the_rest(pool, tiny_training, tmp_path):
    call_command("train", "--epochs", "1", stdout=StringIO())
    good = tmp_path / "good.jpg"
    make_demo_image(Label.CORROSION, seed=3).save(good)
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"GIF89a nonsense")
    out = StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("classify", str(bad), str(good), "--json", stdout=out)
    assert exit_info.value.code == 1
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert "error" in records[0] and records[1]["label"] in ("corrosion", "no_corrosion")


def test_it_exits_2_without_an_active_model(tmp_path):
    err = StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("classify", str(tmp_path), stderr=err)
    assert exit_info.value.code == 2
    assert "No active model" in err.getvalue()


def test_it_never_imports_torch_to_classify():
    code = (
        "import sys, django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'corrosiondetector.settings.test');"
        "django.setup(); import modelzoo.inference, modelzoo.services, modelzoo.selectors, modelzoo.apis;"
        "import modelzoo.management.commands.classify; print('torch' in sys.modules)"
    )
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr


def test_it_takes_a_learning_rate_and_refuses_a_silly_one(pool, tiny_training):
    from modelzoo.models import TrainingRun

    with pytest.raises(CommandError, match="--lr"):
        call_command("train", "--lr", "5", stdout=StringIO())
    call_command("train", "--epochs", "1", "--lr", "0.002", stdout=StringIO())
    assert TrainingRun.objects.get().config["lr"] == 0.002


def test_it_trains_the_architecture_and_views_asked_for(pool, tiny_training):
    out = StringIO()
    call_command(
        "train",
        "--epochs",
        "1",
        "--architecture",
        "resnet18",
        "--input-size",
        "48",
        "--tiles",
        "2",
        "--json",
        stdout=out,
    )

    report = json.loads(out.getvalue())
    version = ModelVersion.objects.get()
    assert report["architecture"] == version.architecture == "resnet18 whole+2x2 tiles (max), 48 px"
    assert version.hyperparameters["input_size"] == 48 and version.hyperparameters["tiles"] == 2


@pytest.mark.parametrize(
    "args", [["--architecture", "vgg99"], ["--input-size", "4"], ["--tiles", "-1"], ["--tiles", "40"]]
)
def test_it_refuses_unknown_architectures_and_silly_views(pool, tiny_training, args):
    with pytest.raises(CommandError):
        call_command("train", *args, stdout=StringIO())
    assert not ModelVersion.objects.exists()
