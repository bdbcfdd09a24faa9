"""Strict environment parsing.

A typo in a deployment's environment should stop the process at start-up,
not silently fall back to a default that behaves differently in production.
"""

from __future__ import annotations

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
