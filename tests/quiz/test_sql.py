import pytest
from django.db import IntegrityError, transaction

from quiz.models import Voter
from quiz.sql import prepared_cursor

pytestmark = pytest.mark.django_db


@pytest.mark.usefixtures("postgres")
def test_it_has_postgresql_prepare_a_statement_run_repeatedly():
    with prepared_cursor() as cursor:
        for n in range(3):
            cursor.execute("SELECT %s + 40 AS quiz_db_test", [n])
            assert cursor.fetchone() == (n + 40,)
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s", ["%+ 40 AS quiz_db_test%"]
        )
        assert cursor.fetchone() == (1,)


def test_it_raises_djangos_database_errors():
    voter = Voter.objects.create()
    with pytest.raises(IntegrityError), transaction.atomic(), prepared_cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Voter._meta.db_table} (key, expertise, ip_hash, votes_cast, created_at, last_seen_at)"
            " SELECT key, expertise, ip_hash, votes_cast, created_at, last_seen_at FROM quiz_voter WHERE id = %s",
            [voter.pk],
        )
