"""The compose stack as docker-compose reads it, and the images the Dockerfile builds for it.

Debian's docker-compose parses and validates the file without a Docker engine; in CI (`.ci/run`
installs it) a missing docker-compose fails the run instead of skipping.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import unavailable

ROOT = Path(__file__).resolve().parents[2]
APP_SERVICES = {"migrate", "web", "worker-inference", "worker-video", "worker-training", "beat"}


def run_compose_config(directory: Path) -> subprocess.CompletedProcess:
    compose = shutil.which("docker-compose")
    if compose is None:
        unavailable("docker-compose is not installed (apt-get install docker-compose)")
    # Only the project's .env feeds ${...}: a variable of the test environment must not mask it.
    env = {"PATH": "/usr/bin:/bin:/usr/local/bin", "HOME": str(directory)}
    return subprocess.run(
        [compose, "-f", "docker-compose.yml", "config"],
        cwd=directory,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def project_copy(tmp_path: Path, env_text: str) -> Path:
    for name in ("docker-compose.yml", "Dockerfile"):
        shutil.copy(ROOT / name, tmp_path / name)
    (tmp_path / ".env").write_text(env_text)
    return tmp_path


@pytest.fixture(scope="module")
def compose(tmp_path_factory) -> dict:
    """The compose file after docker-compose resolved it, with .env.example as the deployer's .env."""
    import yaml

    directory = project_copy(tmp_path_factory.mktemp("compose"), (ROOT / ".env.example").read_text())
    result = run_compose_config(directory)
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def test_it_defines_the_whole_stack(compose):
    assert set(compose["services"]) == {"db", "redis", "proxy", *APP_SERVICES}
    assert compose["services"]["db"]["image"].startswith("postgres:16")
    assert compose["services"]["redis"]["image"].startswith("redis:7")


def test_it_reserves_an_nvidia_gpu_for_training_and_falls_back_to_the_cpu(compose):
    training = compose["services"]["worker-training"]
    devices = training["deploy"]["resources"]["reservations"]["devices"]
    assert devices == [{"driver": "nvidia", "count": 1, "capabilities": ["gpu"]}]
    assert training["environment"]["TRAINING_DEVICE"] == "auto"
    command = training["command"]
    assert command[command.index("-Q") + 1] == "training,default"
    assert command[command.index("--concurrency") + 1] == "1"
    assert training["build"]["target"] == "full"
    # No other service holds a GPU.
    assert [name for name, s in compose["services"].items() if "deploy" in s] == ["worker-training"]


def test_it_builds_the_inference_worker_from_the_torch_free_stage(compose):
    worker = compose["services"]["worker-inference"]
    command = worker["command"]
    assert worker["build"]["target"] == "inference"
    assert command[command.index("-Q") + 1] == "inference"
    stages = dockerfile_stages()
    assert requirement_files_installed(stages, "inference") == {"requirements-inference.txt"}
    assert "torch" not in packages(ROOT / "requirements-inference.txt")
    assert {"torch", "torchvision"} <= packages(ROOT / "requirements.txt")
    assert "requirements.txt" in requirement_files_installed(stages, "full")


def test_it_builds_the_video_worker_torch_free_with_pyav_on_its_own_queue(compose):
    worker = compose["services"]["worker-video"]
    assert worker["build"]["target"] == "video"
    assert worker["command"][worker["command"].index("-Q") + 1] == "video"
    stages = dockerfile_stages()
    assert requirement_files_installed(stages, "video") == {"requirements-inference.txt", "requirements-video.txt"}
    assert "av" in packages(ROOT / "requirements-video.txt")
    assert "torch" not in packages(ROOT / "requirements-video.txt")
    assert "av" not in packages(ROOT / "requirements-serving.txt")


def test_it_leaves_the_simulations_plotting_out_of_every_image():
    stages = dockerfile_stages()
    for target in ("inference", "web", "full"):
        for requirements in requirement_files_installed(stages, target):
            assert "matplotlib" not in packages(ROOT / requirements), (target, requirements)
    assert "matplotlib" in packages(ROOT / "requirements-dev.txt")


def test_it_serves_the_site_from_a_torch_free_image_with_collected_static_files(compose):
    web = compose["services"]["web"]
    assert web["build"]["target"] == "web"
    assert web["command"][0] == "gunicorn" and "corrosiondetector/gunicorn.conf.py" in web["command"]
    stage_lines = "\n".join(line for _, body in stage_chain(dockerfile_stages(), "web") for line in body)
    assert "collectstatic" in stage_lines
    assert re.search(r"^gunicorn==", (ROOT / "requirements.txt").read_text(), re.M)
    # Only gunicorn is taken from requirements.txt, not the whole file (torch).
    assert "-r requirements.txt" not in stage_lines and "grep -E '^gunicorn==' requirements.txt" in stage_lines
    assert "whitenoise" in packages(ROOT / "requirements-inference.txt")


def test_it_gives_imagehash_to_the_web_image_and_keeps_it_out_of_the_inference_worker():
    hashing = {"imagehash", "scipy", "pywavelets"}
    web_lines = "\n".join(line for _, body in stage_chain(dockerfile_stages(), "web") for line in body)
    assert "grep -E '^(imagehash|scipy|PyWavelets)==' requirements.txt" in web_lines
    assert hashing <= packages(ROOT / "requirements.txt")
    assert not hashing & packages(ROOT / "requirements-inference.txt")


def test_it_runs_the_inference_worker_without_imagehash():
    """The inference worker loads the whole app (tasks, services, imaging) from an image without imagehash."""
    code = """
import sys, importlib.abc

class NoHashing(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"imagehash", "scipy", "pywt"}:
            raise ImportError(f"{name} is not in the inference image")

sys.meta_path.insert(0, NoHashing())
import django
django.setup()
import corrosiondetector.celery, quiz.imaging, quiz.services.images, uploads.services, uploads.tasks
print("ok")
"""
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_it_shares_one_media_volume_between_every_app_container(compose):
    assert "media" in compose["volumes"]
    for name in APP_SERVICES:
        assert "media:/app/media:rw" in compose["services"][name]["volumes"], name
    assert "media:/app/media:rw" not in compose["services"]["db"].get("volumes", [])


def test_it_starts_the_app_only_once_the_database_and_broker_are_healthy_and_migrated(compose):
    services = compose["services"]
    for name in ("db", "redis", "web", "worker-inference", "worker-training"):
        assert services[name]["healthcheck"]["test"], name
    for name in APP_SERVICES - {"migrate"}:
        assert services[name]["depends_on"] == {
            "db": {"condition": "service_healthy"},
            "redis": {"condition": "service_healthy"},
            "migrate": {"condition": "service_completed_successfully"},
        }, name
    assert services["migrate"]["command"][:2] == ["sh", "-c"]
    assert re.fullmatch(
        r"python manage.py collectstatic --noinput -v0 && exec python manage.py migrate --noinput",
        services["migrate"]["command"][2],
    )
    assert services["migrate"]["restart"] == "no"


def test_it_gives_every_app_container_the_deployers_env_file(compose):
    for name in APP_SERVICES:
        environment = compose["services"][name]["environment"]
        assert environment["SECRET_KEY"] and environment["DATABASE_URL"].startswith("postgres://"), name
        assert environment["CELERY_BROKER_URL"] == "redis://redis:6379/0", name
    # The database container gets its own three variables, not the site's secret key.
    assert set(compose["services"]["db"]["environment"]) == {"POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB"}


def test_it_puts_the_repositorys_caddy_proxy_in_front_of_gunicorn(compose):
    proxy, web = compose["services"]["proxy"], compose["services"]["web"]
    assert proxy["image"].startswith("caddy:2")
    # The same file `make rehearse` runs, unchanged; only the environment differs.
    config = [v for v in proxy["volumes"] if v.endswith(":/etc/caddy/Caddyfile:ro")]
    assert len(config) == 1 and config[0].split(":")[0].endswith("/deploy/Caddyfile")
    assert proxy["environment"]["UPSTREAM"] == "web:8000"
    assert proxy["environment"]["SITE_ADDRESS"] == "corrosion.example.org" and proxy["environment"]["TLS"] == "acme"
    assert {"media:/srv/media:ro", "static:/srv/static:ro"} <= set(proxy["volumes"])
    assert proxy["environment"]["MEDIA_ROOT"] == "/srv/media" and proxy["environment"]["STATIC_ROOT"] == "/srv/static"
    assert {p["target"] for p in proxy["ports"]} == {80, 443}
    # The static volume is filled by the same image the site runs (migrate collects into it at each start).
    assert "static:/app/staticfiles:rw" in compose["services"]["migrate"]["volumes"]
    assert "chown -R app:app /app/staticfiles" in "\n".join(
        line for _, body in stage_chain(dockerfile_stages(), "web") for line in body
    )
    # Behind it, gunicorn trusts one proxy's X-Forwarded-* and lets it send private files.
    assert web["environment"]["TRUSTED_PROXY_COUNT"] == "1"
    assert web["environment"]["SECURE_PROXY_SSL_HEADER"] == "X-Forwarded-Proto:https"
    assert web["environment"]["MEDIA_ACCEL_REDIRECT_PREFIX"] == "/_protected/"
    # Nothing but this host reaches gunicorn past the proxy.
    assert web["ports"] == ["127.0.0.1:8000:8000/tcp"]


def test_it_serves_only_images_from_the_public_media_and_private_files_through_django():
    caddyfile = (ROOT / "deploy/Caddyfile").read_text()
    public = re.search(r"path_regexp \^/\(([a-z|]+)\)/\S+\\\.\(([a-z|]+)\)\$", caddyfile)
    assert public, "a path_regexp for the public media"
    assert set(public.group(1).split("|")) == {"images", "thumbnails", "heatmaps"}
    assert set(public.group(2).split("|")) == {"jpg", "jpeg", "png", "webp"}
    assert not re.search(r"\bbrowse\b", caddyfile), "no directory listings"
    assert "@accel header X-Accel-Redirect /_protected/*" in caddyfile
    assert re.search(r"handle /_protected/\* \{\s*respond 404", caddyfile)


def test_it_schedules_beat_from_the_database(compose):
    command = compose["services"]["beat"]["command"]
    assert "beat" in command
    assert command[command.index("--scheduler") + 1] == "django_celery_beat.schedulers:DatabaseScheduler"


def test_it_refuses_a_stack_without_a_database_password(tmp_path):
    env = "\n".join(
        line for line in (ROOT / ".env.example").read_text().splitlines() if not line.startswith("POSTGRES_PASSWORD")
    )
    result = run_compose_config(project_copy(tmp_path, env))
    assert result.returncode != 0
    assert "POSTGRES_PASSWORD" in result.stderr


def test_it_lists_every_setting_a_deployer_may_set_in_the_env_example():
    base = (ROOT / "corrosiondetector/settings/base.py").read_text()
    gunicorn = (ROOT / "corrosiondetector/gunicorn.conf.py").read_text()
    read = set(re.findall(r'env_\w+\(\s*"([A-Z0-9_]+)"', base + gunicorn))
    example = (ROOT / ".env.example").read_text()
    listed = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", example, re.M))
    fault_injection_only = {"INFERENCE_DELAY_SECONDS"}
    assert read - fault_injection_only - listed == set()
    assert {"SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "CELERY_BROKER_URL"} <= set(
        re.findall(r"^([A-Z][A-Z0-9_]+)=", example, re.M)
    ), "the required settings must be set, not commented out"


def test_it_keeps_local_state_and_secrets_out_of_the_build_context():
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".git", ".venv", "media", "db.sqlite3", ".env", "staticfiles"} <= ignored


def test_it_configures_gunicorn_with_threads_and_a_timeout_for_the_streamed_export():
    code = (
        "import runpy; c = runpy.run_path('corrosiondetector/gunicorn.conf.py');print(c['worker_class'], c['timeout'])"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    worker_class, timeout = result.stdout.split()
    assert worker_class == "gthread" and int(timeout) >= 600


def test_it_hands_the_gil_over_sooner_in_the_web_workers():
    code = (
        "import runpy, sys; c = runpy.run_path('corrosiondetector/gunicorn.conf.py');"
        "c['post_worker_init'](None); print(sys.getswitchinterval())"
    )
    env = {**os.environ, "WEB_SWITCH_INTERVAL": "0.002"}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert float(result.stdout) == pytest.approx(0.002)


# --- Dockerfile reading ----------------------------------------------------------------------------


def dockerfile_stages() -> dict[str, tuple[str, list[str]]]:
    """stage name -> (parent, instructions), continuation lines joined."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    stages: dict[str, tuple[str, list[str]]] = {}
    current = None
    for line in text.splitlines():
        line = line.strip()
        match = re.match(r"FROM\s+(\S+)\s+AS\s+(\S+)", line, re.I)
        if match:
            current = match.group(2)
            stages[current] = (match.group(1), [])
        elif current and line and not line.startswith("#"):
            stages[current][1].append(line)
    return stages


def stage_chain(stages, target: str) -> list[tuple[str, list[str]]]:
    chain = []
    while target in stages:
        parent, body = stages[target]
        chain.append((target, body))
        target = parent
    return chain


def requirement_files_installed(stages, target: str) -> set[str]:
    installed = set()
    for _, body in stage_chain(stages, target):
        for line in body:
            if line.startswith("RUN") and "pip install" in line:
                installed |= set(re.findall(r"-r\s+(\S+)", line))
    return installed


def packages(requirements: Path) -> set[str]:
    """Package names a requirements file installs, following `-r` includes."""
    names = set()
    for line in requirements.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("-r"):
            names |= packages(requirements.parent / line[2:].strip())
        elif line:
            names.add(re.split(r"[=<>\[ ]", line, maxsplit=1)[0].lower())
    return names
