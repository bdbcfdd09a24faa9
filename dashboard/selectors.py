"""Dashboard figures, each one aggregate query in the database (never rows into Python)."""

from __future__ import annotations

from collections import Counter
from itertools import accumulate

from django.conf import settings
from django.db.models import Count, IntegerField, Sum
from django.db.models.functions import Cast, Floor, Greatest, TruncDate

# The public model card shows the same history (Figure 3b); it lives with the model zoo.
from modelzoo.selectors import model_history  # noqa: F401
from quiz.models import Image, VoteTally
from uploads.models import Upload


def _cumulative_per_day(queryset) -> list[tuple]:
    rows = list(queryset.annotate(day=TruncDate("created_at")).values("day").annotate(n=Count("pk")).order_by("day"))
    totals = accumulate(row["n"] for row in rows)
    return [(row["day"], row["n"], total) for row, total in zip(rows, totals)]


def uploads_per_day() -> list[tuple]:
    """(day, uploads that day, cumulative) — the paper's Figure 3a."""
    return _cumulative_per_day(Upload.objects.all())


def votes_per_day() -> list[tuple]:
    """From the maintained tally: a few rows per day, not millions of votes."""
    rows = list(VoteTally.objects.values("day").annotate(n=Sum("votes")).order_by("day"))
    totals = accumulate(row["n"] for row in rows)
    return [(row["day"], row["n"], total) for row, total in zip(rows, totals)]


def label_balance() -> list[dict]:
    return list(
        Image.objects.filter(effective_label__isnull=False, excluded=False)
        .values("label_source", "effective_label")
        .annotate(n=Count("pk"))
        .order_by("label_source", "effective_label")
    )


def agreement_histogram() -> list[tuple[str, int]]:
    """Images with at least the label threshold of votes, by majority share in 10% bins (50–100%)."""
    bucket = Floor(Cast(Greatest("votes_yes", "votes_no"), IntegerField()) * 10.0 / Cast("vote_count", IntegerField()))
    rows = (
        Image.objects.filter(vote_count__gte=settings.QUIZ_MIN_VOTES)
        .annotate(bucket=bucket)
        .values("bucket")
        .annotate(n=Count("pk"))
    )
    counts = Counter()
    for row in rows:
        counts[min(int(row["bucket"]), 9)] += row["n"]  # 100% agreement joins the 90–100% bin
    return [(f"{b * 10}–{b * 10 + 10}%", counts.get(b, 0)) for b in range(5, 10)]


def votes_by_expertise() -> list[dict]:
    return list(VoteTally.objects.values("expertise").annotate(n=Sum("votes"), yes=Sum("yes")).order_by("expertise"))
