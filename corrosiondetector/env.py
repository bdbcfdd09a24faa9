"""Strict environment parsing.

A typo in a deployment's environment should stop the process at start-up,
not silently fall back to a default that behaves differently in production.
"""

from __future__ import annotations

import ipaddress
import os
from urllib.parse import parse_qs, unquote, urlparse


class ImproperlyConfiguredEnv(Exception):
    """An environment variable is present but malformed (or required and missing)."""


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _raw(name: str) -> str | None:
    value = os.environ.get(name)
    if value is None:
        return None
    value = value.strip()
    return value if value != "" else None


def env_bool(name: str, default: bool) -> bool:
    value = _raw(name)
    if value is None:
        return default
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfiguredEnv(f"{name}={value!r} is not a boolean (use one of 1/0, true/false, yes/no, on/off)")


def env_int(name: str, default: int, *, minimum: int | None = None, maximum: int | None = None) -> int:
    value = _raw(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfiguredEnv(f"{name}={value!r} is not an integer") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfiguredEnv(f"{name}={number} is below the minimum {minimum}")
    if maximum is not None and number > maximum:
        raise ImproperlyConfiguredEnv(f"{name}={number} is above the maximum {maximum}")
    return number


def env_float(name: str, default: float, *, minimum: float | None = None, maximum: float | None = None) -> float:
    value = _raw(name)
    if value is None:
        return default
    try:
        number = float(value)
    except ValueError:
        raise ImproperlyConfiguredEnv(f"{name}={value!r} is not a number") from None
    if number != number:  # NaN passes every comparison below
        raise ImproperlyConfiguredEnv(f"{name} must not be NaN")
    if minimum is not None and number < minimum:
        raise ImproperlyConfiguredEnv(f"{name}={number} is below the minimum {minimum}")
    if maximum is not None and number > maximum:
        raise ImproperlyConfiguredEnv(f"{name}={number} is above the maximum {maximum}")
    return number


def env_str(name: str, default: str | None = None) -> str | None:
    value = _raw(name)
    return default if value is None else value


def env_list(name: str, default: list[str]) -> list[str]:
    value = _raw(name)
    if value is None:
        return list(default)
    items = [item.strip() for item in value.split(",")]
    if any(item == "" for item in items):
        raise ImproperlyConfiguredEnv(f"{name}={value!r} has an empty item")
    return items


def env_networks(name: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """Comma-separated CIDRs (or single addresses); empty or unset means none."""
    networks = []
    for item in env_list(name, []):
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ImproperlyConfiguredEnv(f"{name}: {item!r} is not an address or a network like 10.0.0.0/8") from None
    return tuple(networks)


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = _raw(name)
    if value is None:
        return default
    if value not in choices:
        raise ImproperlyConfiguredEnv(f"{name}={value!r} must be one of {', '.join(choices)}")
    return value


def env_json_object(name: str, default: dict) -> dict:
    import json

    value = _raw(name)
    if value is None:
        return dict(default)
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError as exc:
        raise ImproperlyConfiguredEnv(f"{name} is not valid JSON: {exc}") from None
    if not isinstance(parsed, dict):
        raise ImproperlyConfiguredEnv(f"{name} must be a JSON object")
    return parsed


_DB_ENGINES = {
    "postgres": "django.db.backends.postgresql",
    "postgresql": "django.db.backends.postgresql",
    "sqlite": "django.db.backends.sqlite3",
}


def parse_database_url(url: str) -> dict:
    """Turn `postgres://user:pw@host:port/name` or `sqlite:///path` into Django's DATABASES entry."""
    parsed = urlparse(url)
    engine = _DB_ENGINES.get(parsed.scheme)
    if engine is None:
        raise ImproperlyConfiguredEnv(
            f"DATABASE_URL scheme {parsed.scheme!r} is not supported (use postgres:// or sqlite:///)"
        )
    if engine.endswith("sqlite3"):
        # sqlite:///relative.db and sqlite:////absolute.db, as in dj-database-url.
        path = parsed.path[1:] if parsed.path.startswith("/") else parsed.path
        if not path:
            raise ImproperlyConfiguredEnv("DATABASE_URL for sqlite needs a file path: sqlite:///db.sqlite3")
        return {"ENGINE": engine, "NAME": unquote(path)}
    name = unquote(parsed.path.lstrip("/"))
    if not name:
        raise ImproperlyConfiguredEnv("DATABASE_URL needs a database name: postgres://user@host:5432/NAME")
    try:
        port = parsed.port
    except ValueError:
        raise ImproperlyConfiguredEnv(f"DATABASE_URL has a bad port: {url!r}") from None
    config = {
        "ENGINE": engine,
        "NAME": name,
        "USER": unquote(parsed.username or ""),
        "PASSWORD": unquote(parsed.password or ""),
        "HOST": parsed.hostname or "",
        "PORT": str(port or ""),
        "OPTIONS": {key: values[-1] for key, values in parse_qs(parsed.query).items()},
    }
    return config


def env_database(name: str, default_url: str) -> dict:
    return parse_database_url(_raw(name) or default_url)


# Every public media name is written once (a content hash, or an upload's id for its heatmap), so a
# browser or CDN may keep it for good.
S3_PUBLIC_CACHE_CONTROL = "public, max-age=31536000, immutable"


def _env_http_url(name: str) -> str | None:
    value = _raw(name)
    if value is None:
        return None
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc or parsed.query or parsed.fragment:
        raise ImproperlyConfiguredEnv(f"{name}={value!r} must be an http(s) URL like https://s3.example.org")
    return value.rstrip("/")


def _env_prefix(name: str, default: str) -> str:
    return (env_str(name, default) or "").strip("/")


def env_media_storages() -> dict:
    """The "default" (public media) and "private" entries of Django's STORAGES, from MEDIA_STORAGE.

    local: both under MEDIA_ROOT; the proxy serves only the public part (images) and hands out the rest
    on Django's say (X-Accel-Redirect). s3: public media get plain URLs (the bucket policy lets anyone read
    S3_PUBLIC_PREFIX/*), private files sit under S3_PRIVATE_PREFIX (or in S3_PRIVATE_BUCKET) and get
    presigned URLs that expire after S3_PRESIGN_SECONDS.
    """
    kind = env_choice("MEDIA_STORAGE", "local", ("local", "s3"))
    if kind == "local":
        # No OPTIONS: both follow MEDIA_ROOT, also when tests change it.
        local = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
        return {"default": dict(local), "private": dict(local)}

    bucket = env_str("S3_BUCKET")
    if bucket is None:
        raise ImproperlyConfiguredEnv("MEDIA_STORAGE=s3 needs S3_BUCKET (and usually S3_ENDPOINT_URL and credentials)")
    access_key, secret_key = env_str("S3_ACCESS_KEY_ID"), env_str("S3_SECRET_ACCESS_KEY")
    if (access_key is None) != (secret_key is None):
        raise ImproperlyConfiguredEnv("set both S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY, or neither (boto3's chain)")
    private_bucket = env_str("S3_PRIVATE_BUCKET", bucket)
    public_prefix = _env_prefix("S3_PUBLIC_PREFIX", "public")
    private_prefix = _env_prefix("S3_PRIVATE_PREFIX", "private")
    if private_bucket == bucket and (not public_prefix or not private_prefix or _nested(public_prefix, private_prefix)):
        # One bucket: the public-read policy covers S3_PUBLIC_PREFIX/*, which must not reach private files.
        raise ImproperlyConfiguredEnv(
            f"S3_PUBLIC_PREFIX={public_prefix!r} and S3_PRIVATE_PREFIX={private_prefix!r} must be two separate, "
            "non-empty folders of S3_BUCKET (or set S3_PRIVATE_BUCKET)"
        )
    addressing = env_choice("S3_ADDRESSING_STYLE", "auto", ("auto", "path", "virtual"))
    common = {
        "endpoint_url": _env_http_url("S3_ENDPOINT_URL"),
        "region_name": env_str("S3_REGION"),
        "access_key": access_key,
        "secret_key": secret_key,
        "addressing_style": None if addressing == "auto" else addressing,
        # botocore would still presign with the deprecated SigV2 in some regions; v4 works everywhere.
        "signature_version": "s3v4",
        # As on a local disk: a name already taken gets a suffix instead of replacing the other file.
        "file_overwrite": False,
    }
    common = {key: value for key, value in common.items() if value is not None}
    public = {
        **common,
        "bucket_name": bucket,
        "location": public_prefix,
        "querystring_auth": False,
        "object_parameters": {"CacheControl": S3_PUBLIC_CACHE_CONTROL},
    }
    public_url = _env_http_url("S3_PUBLIC_URL")
    if public_url is not None:
        # A CDN or custom domain in front of the bucket; its origin maps to the bucket's root.
        scheme, _, domain = public_url.partition("//")
        public.update(url_protocol=scheme, custom_domain=domain)
    private = {
        **common,
        "bucket_name": private_bucket,
        "location": private_prefix,
        "querystring_auth": True,
        # Short: a presigned URL works for whoever holds it until it expires.
        "querystring_expire": env_int("S3_PRESIGN_SECONDS", 300, minimum=1, maximum=7 * 24 * 3600),
    }
    backend = "storages.backends.s3.S3Storage"
    return {"default": {"BACKEND": backend, "OPTIONS": public}, "private": {"BACKEND": backend, "OPTIONS": private}}


def _nested(a: str, b: str) -> bool:
    return a == b or a.startswith(b + "/") or b.startswith(a + "/")
