import io
import zipfile
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.core.management.base import OutputWrapper

from datasets.management.commands.export_dataset import Command
from factories import make_image
from quiz.models import Label, Split

pytestmark = pytest.mark.django_db


def export(*args) -> str:
    output = StringIO()
    call_command("export_dataset", *[str(a) for a in args], stdout=output, stderr=StringIO())
    return output.getvalue()


@pytest.fixture
def out_dir(tmp_path):
    # Not tmp_path itself: the test MEDIA_ROOT lives there too.
    path = tmp_path / "out"
    path.mkdir()
    return path


def photos(path) -> list[str]:
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
        return [name for name in archive.namelist() if name not in ("labels.csv", "README.md")]


def test_it_writes_the_zip_and_reports_what_it_holds(out_dir):
    corroded = make_image(label=Label.CORROSION)
    make_image(split=Split.VALIDATION, label=Label.NO_CORROSION)
    make_image(label=Label.NO_CORROSION, excluded=True)
    out = out_dir / "dataset.zip"

    output = export(out)

    assert "Exported 2 photos" in output and "train/corrosion 1" in output and "validation/no_corrosion 1" in output
    assert f"train/corrosion/{corroded.sha256[:16]}.jpg" in photos(out)
    assert len(photos(out)) == 2
    assert [p.name for p in out_dir.iterdir()] == ["dataset.zip"]  # no .part left behind


def test_it_applies_split_vote_floor_and_balance(out_dir):
    for _ in range(2):
        make_image(label=None, votes_yes=5, vote_count=5)
    make_image(label=None, votes_no=5, vote_count=5)
    make_image(label=Label.NO_CORROSION)  # no votes: below the floor
    make_image(split=Split.VALIDATION, label=Label.CORROSION)
    out = out_dir / "balanced.zip"

    output = export(out, "--split", "train", "--min-votes", "5", "--balanced")

    assert "Exported 2 photos" in output
    assert sorted(name.split("/")[1] for name in photos(out)) == ["corrosion", "no_corrosion"]


def test_it_writes_an_empty_but_valid_zip_and_warns_when_nothing_matches(out_dir):
    make_image(label=Label.CORROSION)
    out = out_dir / "empty.zip"
    assert "Exported 0 photos" in export(out, "--balanced")
    assert photos(out) == []


def test_it_replaces_an_existing_zip_whole(out_dir):
    make_image(label=Label.CORROSION)
    out = out_dir / "dataset.zip"
    out.write_bytes(b"old")
    export(out)
    assert len(photos(out)) == 1


def test_it_leaves_nothing_behind_when_writing_fails(out_dir, monkeypatch):
    make_image(label=Label.CORROSION)
    out = out_dir / "dataset.zip"

    def broken_chunks(self):
        yield b"PK"
        raise OSError("disk full")

    monkeypatch.setattr("datasets.export.DatasetExport.chunks", broken_chunks)
    with pytest.raises(CommandError, match="disk full"):
        export(out)
    assert list(out_dir.iterdir()) == []


@pytest.mark.parametrize(
    "args,message",
    [
        (["{tmp}/dataset.tar"], ".zip"),
        (["{tmp}/missing/dataset.zip"], "no such directory"),
        (["{tmp}/dataset.zip", "--split", "test"], "invalid choice"),
        (["{tmp}/dataset.zip", "--min-votes", "-1"], "at least 0"),
        (["{tmp}/dataset.zip", "--min-votes", "many"], "invalid int"),
    ],
)
def test_it_refuses_bad_arguments(out_dir, args, message):
    with pytest.raises(CommandError, match=message):
        export(*[a.format(tmp=out_dir) for a in args])
    assert not (out_dir / "dataset.zip").exists()


def test_it_explains_the_options_in_its_help():
    parser = Command(stdout=OutputWrapper(io.StringIO())).create_parser("manage.py", "export_dataset")
    text = " ".join(parser.format_help().split())
    assert "expert-labelled photos are kept whatever their votes" in text
    assert "lowest SHA-256" in text and "excluded" in text
