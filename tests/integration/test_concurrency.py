"""Many voters at once against real PostgreSQL: nothing lost, nothing doubled."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.db.models import Count, Sum
from rest_framework.test import APIClient

from factories import VoterFactory, make_image
from quiz.models import Image, Vote, Voter, VoteTally

pytestmark = pytest.mark.integration
URL = "/api/quiz/round/"


def voter_session(rounds: int, barrier: threading.Barrier) -> list[int]:
    client = APIClient()
    codes = []
    try:
        barrier.wait()
        for _ in range(rounds):
            body = client.get(URL).json()
            ticked = [img["id"] for img in body["images"][::2]]
            codes.append(client.post(URL, {"round": body["round"], "corrosion": ticked}, format="json").status_code)
    finally:
        connection.close()
    return codes


def test_it_counts_every_vote_once_under_concurrent_voting(transactional_db, postgres, settings):
    settings.QUIZ_MIN_VOTES = 5
    for _ in range(6):  # a small pool, so every round contends for the same rows
        make_image(label=None)
    voters, rounds = 16, 1
    barrier = threading.Barrier(voters)
    with ThreadPoolExecutor(max_workers=voters) as pool:
        results = list(pool.map(lambda _: voter_session(rounds, barrier), range(voters)))
    codes = [code for codes in results for code in codes]
    assert codes.count(201) == voters * rounds, codes

    vote_rows = Vote.objects.count()
    counters = Image.objects.aggregate(yes=Sum("votes_yes"), no=Sum("votes_no"), total=Sum("vote_count"))
    assert vote_rows == voters * rounds * 4
    assert counters["total"] == counters["yes"] + counters["no"] == vote_rows
    assert Vote.objects.filter(corrosion=True).count() == counters["yes"]
    assert Voter.objects.aggregate(n=Sum("votes_cast"))["n"] == vote_rows
    assert VoteTally.objects.aggregate(n=Sum("votes"))["n"] == vote_rows
    duplicates = Vote.objects.values("voter", "image").annotate(n=Count("id")).filter(n__gt=1)
    assert not duplicates.exists()
    for image in Image.objects.all():
        assert image.vote_count == image.votes.count()


def test_it_accepts_a_double_submit_exactly_once(transactional_db, postgres):
    for _ in range(4):
        make_image(label=None)
    client = APIClient()
    body = client.get(URL).json()
    cookie = client.cookies
    barrier = threading.Barrier(6)

    def submit(_):
        twin = APIClient()
        twin.cookies = cookie
        try:
            barrier.wait()
            return twin.post(URL, {"round": body["round"], "corrosion": []}, format="json").status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=6) as pool:
        codes = sorted(pool.map(submit, range(6)))
    assert codes == [201, 409, 409, 409, 409, 409]
    assert Vote.objects.count() == 4
    assert Image.objects.aggregate(total=Sum("vote_count"))["total"] == 4


def test_it_withdraws_votes_locking_the_voters_before_the_image(transactional_db, postgres):
    """The vote path locks a voter, then the round's images; taking votes back must not lock the other way round."""
    import psycopg
    from django.db import transaction

    from quiz.services.votes import vote_set, votes_withdraw

    image = make_image(label=None)
    voter = VoterFactory()
    vote_set(voter_key=voter.key, image_id=image.pk, corrosion=True)
    params = connection.get_connection_params()
    dsn = {key: params[key] for key in ("dbname", "user", "host", "port", "password") if key in params}

    def withdraw():
        try:
            with transaction.atomic():
                votes_withdraw(image_id=image.pk)
        finally:
            connection.close()

    holder = psycopg.connect(**dsn)
    worker = threading.Thread(target=withdraw)
    try:
        holder.execute("BEGIN")
        holder.execute("SELECT 1 FROM quiz_voter WHERE id = %s FOR UPDATE", [voter.pk])  # a volunteer mid-round
        worker.start()
        worker.join(timeout=1.0)
        assert worker.is_alive(), "votes_withdraw did not wait for the voter's lock"
        # While it waits for the voter, the image is still free for the volunteer's round to lock.
        with psycopg.connect(**dsn) as probe:
            probe.execute("SET lock_timeout = '200ms'")
            probe.execute("SELECT 1 FROM quiz_image WHERE id = %s FOR UPDATE", [image.pk])
    finally:
        holder.rollback()
        holder.close()
        worker.join(timeout=10)
    assert not worker.is_alive()
    assert Image.objects.get(pk=image.pk).vote_count == 0 and Voter.objects.get(pk=voter.pk).votes_cast == 0
