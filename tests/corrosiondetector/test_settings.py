import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]


def load_settings(**env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG", "DJANGO_SETTINGS_MODULE"}}
    clean.update(env)
    code = "import corrosiondetector.settings.base as s; print(s.DEBUG, s.CELERY_TASK_ALWAYS_EAGER)"
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True)


def test_it_refuses_to_start_without_a_secret_key_when_debug_is_off():
    result = load_settings()
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_it_starts_in_debug_without_a_secret_key():
    result = load_settings(DEBUG="1")
    assert result.returncode == 0, result.stderr


def test_it_fails_loudly_on_a_malformed_value():
    result = load_settings(SECRET_KEY="x", QUIZ_MIN_VOTES="five")
    assert result.returncode != 0 and "QUIZ_MIN_VOTES" in result.stderr


def test_it_runs_tasks_in_process_without_a_broker():
    env = {k: v for k, v in os.environ.items() if k != "CELERY_BROKER_URL"}
    code = (
        "import corrosiondetector.settings.base as s; print(s.CELERY_TASK_ALWAYS_EAGER, s.CACHES['default']['BACKEND'])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env={**env, "SECRET_KEY": "x"}, capture_output=True, text=True
    )
    assert result.stdout.split() == ["True", "django.core.cache.backends.locmem.LocMemCache"]


def test_it_configures_celery_for_reliable_delivery():
    from corrosiondetector.celery import app

    conf = app.conf
    assert conf.task_acks_late and conf.task_reject_on_worker_lost
    assert conf.worker_prefetch_multiplier == 1
    assert conf.task_time_limit and conf.task_soft_time_limit
    assert {q.name for q in conf.task_queues} == {"default", "inference", "training", "video"}
    assert settings.CELERY_TASK_ROUTES["uploads.tasks.*"]["queue"] == "inference"
    assert settings.CELERY_TASK_ROUTES["modelzoo.tasks.*"]["queue"] == "training"
    assert settings.CELERY_TASK_ROUTES["videos.tasks.*"]["queue"] == "video"


def test_it_refuses_a_self_training_confidence_no_better_than_a_coin_toss():
    assert load_settings(DEBUG="1", TRAIN_PSEUDO_LABEL_CONFIDENCE="0.9").returncode == 0
    result = load_settings(DEBUG="1", TRAIN_PSEUDO_LABEL_CONFIDENCE="0.5")
    assert result.returncode != 0 and "TRAIN_PSEUDO_LABEL_CONFIDENCE" in result.stderr


def test_it_refuses_the_replaced_free_text_quiz_question():
    assert load_settings(DEBUG="1", QUIZ_WORDING="repair").returncode == 0
    result = load_settings(DEBUG="1", QUIZ_QUESTION="Do you see rust?")
    assert result.returncode != 0 and "QUIZ_WORDING" in result.stderr
    assert load_settings(DEBUG="1", QUIZ_WORDING="rust").returncode != 0
