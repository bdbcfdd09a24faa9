"""The command's checks before any site starts (the run itself: tests/integration/test_simulate_crowd.py)."""

import sys

import pytest
from django.core.management import CommandError, call_command


def test_it_refuses_a_folder_without_train_and_validation(tmp_path):
    (tmp_path / "data").mkdir()
    with pytest.raises(CommandError, match="train"):
        call_command("simulate_crowd", "--dataset", str(tmp_path / "data"), "--out", str(tmp_path / "out"))


def test_it_asks_for_the_plotting_requirements_before_running(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as in a production image
    with pytest.raises(CommandError, match="requirements-simulation.txt"):
        call_command("simulate_crowd", "--dataset", str(tmp_path), "--out", str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()
