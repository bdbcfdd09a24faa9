import json

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def run(capsys, *args) -> tuple[int, str, str]:
    try:
        call_command("classify_video", *args)
        code = 0
    except SystemExit as exit_:
        code = exit_.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_it_prints_one_json_object_per_video(capsys, active_model, rust_classifier, clip, tmp_path):
    first, second = clip(seconds=6, corroded={2, 3}), clip(seconds=4, corroded=set())
    code, out, _ = run(capsys, str(first), str(second), "--json", "--every", "1", "--out", str(tmp_path / "keys"))
    assert code == 0
    records = [json.loads(line) for line in out.splitlines()]
    assert [record["path"] for record in records] == [str(first), str(second)]
    assert [(s["start"], s["end"]) for s in records[0]["segments"]] == [(2.0, 4.0)]
    assert records[1]["segments"] == []
    assert records[0]["model_version"] == active_model.version
    key_frame = records[0]["key_frames"][0]
    assert set(key_frame) == {"t", "image_path", "heatmap_path", "probability"}
    assert (tmp_path / "keys").joinpath(key_frame["image_path"].split("/")[-1]).is_file()


def test_it_samples_as_often_as_every_says(capsys, active_model, rust_classifier, clip, tmp_path):
    code, out, _ = run(capsys, str(clip(seconds=4)), "--json", "--every", "2", "--out", str(tmp_path))
    times = [frame["t"] for frame in json.loads(out)["frames"]]
    assert code == 0 and {0.0, 2.0} <= set(times)


def test_it_exits_2_without_an_active_model(capsys, clip):
    code, out, err = run(capsys, str(clip(seconds=2)), "--json")
    assert (code, out) == (2, "")
    assert "No active model" in err


def test_it_exits_1_for_a_file_it_cannot_read_with_a_message_and_no_traceback(
    capsys, active_model, rust_classifier, tmp_path
):
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"not a video at all" * 100)
    code, out, err = run(capsys, str(garbage), str(tmp_path / "missing.mp4"), "--json")
    assert (code, out) == (1, "")
    assert "garbage.mp4:" in err and "missing.mp4: No such file." in err
    assert "Traceback" not in err
