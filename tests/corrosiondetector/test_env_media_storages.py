import os
import subprocess
import sys
from pathlib import Path

import pytest

from corrosiondetector.env import ImproperlyConfiguredEnv, env_media_storages

ROOT = Path(__file__).resolve().parents[2]
S3_VARIABLES = (
    "MEDIA_STORAGE",
    "S3_BUCKET",
    "S3_PRIVATE_BUCKET",
    "S3_ENDPOINT_URL",
    "S3_REGION",
    "S3_ACCESS_KEY_ID",
    "S3_SECRET_ACCESS_KEY",
    "S3_PUBLIC_URL",
    "S3_PUBLIC_PREFIX",
    "S3_PRIVATE_PREFIX",
    "S3_PRESIGN_SECONDS",
    "S3_ADDRESSING_STYLE",
)


@pytest.fixture
def env(monkeypatch):
    for name in S3_VARIABLES:
        monkeypatch.delenv(name, raising=False)

    def set_env(**values):
        for name, value in values.items():
            monkeypatch.setenv(name, value)

    return set_env


def test_it_keeps_media_on_the_local_disk_by_default(env):
    storages = env_media_storages()
    assert storages["default"] == {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    assert storages["private"] == {"BACKEND": "django.core.files.storage.FileSystemStorage"}


def test_it_refuses_an_unknown_media_storage(env):
    env(MEDIA_STORAGE="S3")
    with pytest.raises(ImproperlyConfiguredEnv, match="MEDIA_STORAGE='S3' must be one of local, s3"):
        env_media_storages()


def test_it_refuses_s3_without_a_bucket(env):
    env(MEDIA_STORAGE="s3", S3_ENDPOINT_URL="https://s3.example.org")
    with pytest.raises(ImproperlyConfiguredEnv, match="S3_BUCKET"):
        env_media_storages()


def test_it_refuses_half_a_key_pair(env):
    env(MEDIA_STORAGE="s3", S3_BUCKET="media", S3_ACCESS_KEY_ID="AKIA")
    with pytest.raises(ImproperlyConfiguredEnv, match="S3_SECRET_ACCESS_KEY"):
        env_media_storages()


@pytest.mark.parametrize("url", ["s3.example.org", "ftp://s3.example.org", "https://s3.example.org/?x=1"])
def test_it_refuses_an_endpoint_that_is_not_an_http_url(env, url):
    env(MEDIA_STORAGE="s3", S3_BUCKET="media", S3_ENDPOINT_URL=url)
    with pytest.raises(ImproperlyConfiguredEnv, match="S3_ENDPOINT_URL"):
        env_media_storages()


@pytest.mark.parametrize(
    "public,private", [("media", "media"), ("/", "private"), ("media", "media/private"), ("public", "/")]
)
def test_it_refuses_private_files_inside_the_public_folder_of_one_bucket(env, public, private):
    env(MEDIA_STORAGE="s3", S3_BUCKET="media", S3_PUBLIC_PREFIX=public, S3_PRIVATE_PREFIX=private)
    with pytest.raises(ImproperlyConfiguredEnv, match="S3_PRIVATE_PREFIX"):
        env_media_storages()


def test_it_allows_any_folders_when_private_files_have_a_bucket_of_their_own(env):
    # "/" is the bucket's root (an empty value means unset, as for every variable).
    env(MEDIA_STORAGE="s3", S3_BUCKET="media", S3_PRIVATE_BUCKET="models", S3_PUBLIC_PREFIX="/", S3_PRIVATE_PREFIX="/")
    public, private = env_media_storages()["default"]["OPTIONS"], env_media_storages()["private"]["OPTIONS"]
    assert (public["bucket_name"], public["location"]) == ("media", "")
    assert (private["bucket_name"], private["location"]) == ("models", "")


def test_it_gives_public_media_plain_urls_and_private_files_short_presigned_ones(env):
    env(
        MEDIA_STORAGE="s3",
        S3_BUCKET="corrosion",
        S3_ENDPOINT_URL="https://s3.example.org/",
        S3_REGION="eu-central-1",
        S3_ACCESS_KEY_ID="AKIA",
        S3_SECRET_ACCESS_KEY="secret",
        S3_PUBLIC_URL="https://cdn.example.org",
        S3_PRESIGN_SECONDS="120",
        S3_ADDRESSING_STYLE="path",
    )
    storages = env_media_storages()
    public, private = storages["default"]["OPTIONS"], storages["private"]["OPTIONS"]
    assert storages["default"]["BACKEND"] == storages["private"]["BACKEND"] == "storages.backends.s3.S3Storage"
    assert public["querystring_auth"] is False and private["querystring_auth"] is True
    assert private["querystring_expire"] == 120
    assert (public["location"], private["location"]) == ("public", "private")
    assert public["custom_domain"] == "cdn.example.org" and public["url_protocol"] == "https:"
    assert "custom_domain" not in private  # a CDN would not check S3's signature
    for options in (public, private):
        assert options["endpoint_url"] == "https://s3.example.org"
        assert options["region_name"] == "eu-central-1" and options["addressing_style"] == "path"
        assert (options["access_key"], options["secret_key"]) == ("AKIA", "secret")
        assert options["file_overwrite"] is False


def test_it_leaves_credentials_to_boto3_when_none_are_given(env):
    env(MEDIA_STORAGE="s3", S3_BUCKET="corrosion")
    options = env_media_storages()["private"]["OPTIONS"]
    assert "access_key" not in options and "endpoint_url" not in options and "addressing_style" not in options
    assert options["querystring_expire"] == 300


@pytest.mark.parametrize("seconds", ["0", "604801", "soon"])
def test_it_refuses_a_presign_lifetime_s3_would_not_honour(env, seconds):
    env(MEDIA_STORAGE="s3", S3_BUCKET="corrosion", S3_PRESIGN_SECONDS=seconds)
    with pytest.raises(ImproperlyConfiguredEnv, match="S3_PRESIGN_SECONDS"):
        env_media_storages()


def load_settings(**env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {*S3_VARIABLES, "DJANGO_SETTINGS_MODULE"}}
    clean.update({"SECRET_KEY": "x", **env})
    code = "import corrosiondetector.settings.base as s; print(s.STORAGES['default']['BACKEND'])"
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True)


def test_it_stops_the_site_at_start_up_when_s3_is_chosen_without_a_bucket():
    result = load_settings(MEDIA_STORAGE="s3")
    assert result.returncode != 0 and "S3_BUCKET" in result.stderr
    result = load_settings(MEDIA_STORAGE="s3", S3_BUCKET="corrosion")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "storages.backends.s3.S3Storage"


def test_it_refuses_an_accel_redirect_prefix_that_is_not_a_folder():
    result = load_settings(MEDIA_ACCEL_REDIRECT_PREFIX="_protected")
    assert result.returncode != 0 and "MEDIA_ACCEL_REDIRECT_PREFIX" in result.stderr
