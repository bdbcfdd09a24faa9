import re

import pytest
from django.db import IntegrityError, transaction

from quiz import sql
from quiz.models import Image, Voter
from quiz.sql import IMAGE_LOCKED_COLUMNS, prepared_cursor

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


def test_it_lists_the_locked_columns_in_model_order():
    # Model.from_db matches a partial row to the model's fields in their order.
    in_model_order = [field.attname for field in Image._meta.concrete_fields if field.attname in IMAGE_LOCKED_COLUMNS]
    assert list(IMAGE_LOCKED_COLUMNS) == in_model_order


@pytest.mark.parametrize(
    ("statement", "columns"),
    [
        (sql.VOTER_COUNT_VOTES, sql.VOTER_COLUMNS),
        (sql.IMAGES_LOCK_SQLITE, IMAGE_LOCKED_COLUMNS),
        (sql.VOTER_COUNT_VOTES_AND_LOCK_IMAGES_POSTGRESQL, IMAGE_LOCKED_COLUMNS),
        (sql.VOTES_INSERT, sql.VOTE_COLUMNS),
        (sql.IMAGES_STORE, sql.IMAGE_STORED_COLUMNS),
    ],
)
def test_it_writes_the_columns_the_vote_path_reads_and_fills(statement, columns):
    """The rows are read, and the parameters built, in the order of the named column lists."""
    assert ", ".join(columns) in " ".join(statement.split())


def test_it_casts_the_first_stored_row_to_the_columns_types(postgres):
    casts = re.findall(r"CAST\(%s AS ([a-z ]+(?:\(\d+\))?)\)", sql.IMAGES_STORE_FIRST_ROW_POSTGRESQL)
    types = [Image._meta.get_field(name).db_type(postgres) for name in sql.IMAGE_STORED_COLUMNS[1:]]
    assert casts == types


@pytest.mark.parametrize("vendor", ["postgresql", "sqlite"])
def test_it_casts_only_postgresqls_first_stored_row(vendor):
    store = sql.images_store(vendor=vendor, images=3)
    assert store.count("%s") == 3 * len(sql.IMAGE_STORED_COLUMNS)
    assert store.count("CAST(") == (len(sql.IMAGE_STORED_COLUMNS) - 1 if vendor == "postgresql" else 0)


def test_it_generates_a_placeholder_per_value_of_the_round():
    assert sql.votes_insert(votes=2).count("(%s, %s, %s, %s, %s, %s)") == 2
    insert = sql.tally_add_and_votes_insert(votes=2)
    assert insert.count("(%s, %s, %s, %s, %s, %s)") == 2 and insert.count("(%s, %s, %s, %s, %s)") == 1  # + the tally
    assert sql.images_lock(images=3).count("%s") == 3
    assert sql.voter_count_votes_and_lock_images(images=3).count("%s") == 5 + 3
