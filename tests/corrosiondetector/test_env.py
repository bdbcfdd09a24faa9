import pytest

from corrosiondetector.env import (
    ImproperlyConfiguredEnv,
    env_bool,
    env_float,
    env_int,
    env_json_object,
    env_list,
    parse_database_url,
)


@pytest.mark.parametrize("raw,expected", [("1", True), ("true", True), ("ON", True), ("0", False), ("no", False)])
def test_it_parses_booleans(monkeypatch, raw, expected):
    monkeypatch.setenv("FLAG", raw)
    assert env_bool("FLAG", not expected) is expected


@pytest.mark.parametrize("raw", ["ture", "2", "enabled"])
def test_it_refuses_a_malformed_boolean(monkeypatch, raw):
    monkeypatch.setenv("FLAG", raw)
    with pytest.raises(ImproperlyConfiguredEnv, match="FLAG"):
        env_bool("FLAG", False)


def test_it_uses_the_default_only_when_unset(monkeypatch):
    monkeypatch.delenv("N", raising=False)
    assert env_int("N", 5) == 5
    monkeypatch.setenv("N", "7")
    assert env_int("N", 5) == 7


@pytest.mark.parametrize("raw", ["five", "5.5", "0"])
def test_it_refuses_bad_integers(monkeypatch, raw):
    monkeypatch.setenv("N", raw)
    with pytest.raises(ImproperlyConfiguredEnv):
        env_int("N", 5, minimum=1)


def test_it_refuses_out_of_range_and_nan_floats(monkeypatch):
    monkeypatch.setenv("R", "1.5")
    with pytest.raises(ImproperlyConfiguredEnv):
        env_float("R", 0.1, minimum=0, maximum=1)
    monkeypatch.setenv("R", "nan")
    with pytest.raises(ImproperlyConfiguredEnv):
        env_float("R", 0.1)


def test_it_parses_lists_and_refuses_empty_items(monkeypatch):
    monkeypatch.setenv("HOSTS", "a.example, b.example")
    assert env_list("HOSTS", []) == ["a.example", "b.example"]
    monkeypatch.setenv("HOSTS", "a.example,,b")
    with pytest.raises(ImproperlyConfiguredEnv):
        env_list("HOSTS", [])


def test_it_parses_postgres_and_sqlite_urls():
    pg = parse_database_url("postgres://user:p%40ss@db.internal:5433/corrosion?sslmode=require")
    assert pg["ENGINE"] == "django.db.backends.postgresql"
    assert (pg["USER"], pg["PASSWORD"], pg["HOST"], pg["PORT"], pg["NAME"]) == (
        "user",
        "p@ss",
        "db.internal",
        "5433",
        "corrosion",
    )
    assert pg["OPTIONS"] == {"sslmode": "require"}
    assert parse_database_url("sqlite:////tmp/x.db") == {"ENGINE": "django.db.backends.sqlite3", "NAME": "/tmp/x.db"}


@pytest.mark.parametrize("url", ["mysql://x/y", "postgres://host:5432/", "postgres://host:99999999/db", "sqlite://"])
def test_it_refuses_bad_database_urls(url):
    with pytest.raises(ImproperlyConfiguredEnv):
        parse_database_url(url)


def test_it_parses_json_objects_strictly(monkeypatch):
    monkeypatch.setenv("CONF", '{"epochs": 3}')
    assert env_json_object("CONF", {}) == {"epochs": 3}
    for bad in ("[1, 2]", "{epochs: 3}"):
        monkeypatch.setenv("CONF", bad)
        with pytest.raises(ImproperlyConfiguredEnv, match="CONF"):
            env_json_object("CONF", {})
