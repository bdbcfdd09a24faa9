"""The PostgreSQL backend's health-check grace (corrosiondetector/database), on a real server."""

from __future__ import annotations

import pytest
from django.db import ProgrammingError, connections

from corrosiondetector.database import base


@pytest.fixture
def clock(fake_clock):
    return fake_clock(base)


@pytest.fixture
def make_wrapper(postgres):
    """A connection of its own (the test's connection sits in a transaction), closed afterwards."""
    made = []

    def make(*, grace: float):
        default = connections["default"]
        settings_dict = {**default.settings_dict, "CONN_HEALTH_CHECKS": True, "CONN_MAX_AGE": None}
        wrapper = type(default)({**settings_dict, "HEALTH_CHECK_GRACE": grace}, "grace-test")
        checks = []
        real_is_usable = wrapper.is_usable
        wrapper.is_usable = lambda: checks.append(1) or real_is_usable()
        made.append(wrapper)
        return wrapper, checks

    yield make
    for wrapper in made:
        wrapper.close()


def request(wrapper) -> int:
    """What Django does around one request that uses the database; the server process id it talked to."""
    wrapper.close_if_unusable_or_obsolete()  # request_started
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    wrapper.close_if_unusable_or_obsolete()  # request_finished
    return pid


def terminate(pid: int) -> None:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])


def test_it_is_the_backend_of_postgresql_urls_with_a_one_second_grace(postgres):
    assert postgres.settings_dict["ENGINE"] == "corrosiondetector.database"
    assert postgres.settings_dict["HEALTH_CHECK_GRACE"] == 1.0


def test_it_skips_the_check_for_a_connection_that_just_served_a_request(make_wrapper):
    wrapper, checks = make_wrapper(grace=60)
    first = request(wrapper)
    assert checks == []  # a new connection needs no check
    assert [request(wrapper) for _ in range(5)] == [first] * 5
    assert checks == []


def test_it_checks_every_request_without_a_grace(make_wrapper):
    wrapper, checks = make_wrapper(grace=0)
    for _ in range(3):
        request(wrapper)
    assert len(checks) == 2  # every request after the one that opened the connection


def test_it_replaces_a_connection_broken_while_idle_past_the_grace(make_wrapper, clock):
    wrapper, checks = make_wrapper(grace=0.2)
    first = request(wrapper)
    terminate(first)
    clock.advance(0.3)
    second = request(wrapper)  # no error: the check found the connection dead and reconnected
    assert second != first and checks == [1]


def test_a_request_that_failed_does_not_extend_the_grace(make_wrapper, clock):
    wrapper, checks = make_wrapper(grace=0.4)
    request(wrapper)
    clock.advance(0.25)
    wrapper.close_if_unusable_or_obsolete()
    with pytest.raises(ProgrammingError), wrapper.cursor() as cursor:
        cursor.execute("SELECT * FROM no_such_table")
    wrapper.close_if_unusable_or_obsolete()  # the error makes Django itself check the connection here
    checks.clear()
    clock.advance(0.25)  # past the grace of the last clean request
    request(wrapper)
    assert checks == [1]
