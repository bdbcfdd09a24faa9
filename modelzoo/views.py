"""Public pages of the model zoo: the model card (/model/) and a volunteer's own part in it (/me/).

/me/ lives here rather than in quiz because it names the model versions a voter's photos trained, and quiz
may not know about models (docs/architecture.md); the voter's quiz record comes from quiz.selectors.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from modelzoo.card import DISCLAIMER, LIMITATIONS
from modelzoo.selectors import PROVENANCES, model_card, model_versions_trained_by
from quiz.identity import voter_key
from quiz.selectors import voter_record


@require_GET
def model_card_page(request: HttpRequest) -> HttpResponse:
    card = model_card()
    context = {"card": card, "limitations": LIMITATIONS, "disclaimer": DISCLAIMER}
    if card is not None:
        version = card.version
        confusion = version.confusion if len(version.confusion) == 2 else None
        context.update(
            version=version,
            provenance=[(key, card.provenance.counts[key]) for key in PROVENANCES] if card.provenance else [],
            confusion=confusion,
            forecast_rows=[
                (target, round(low), round(mid), round(high))
                for target, (low, mid, high) in card.forecast.votes_needed.items()
            ],
        )
    return render(request, "modelzoo/model_card.html", context)


@require_GET
def me_page(request: HttpRequest) -> HttpResponse:
    """The caller's answers, agreement with the experts, labels helped and versions trained (voter cookie)."""
    key = voter_key(request)
    record = voter_record(key=key)
    versions = model_versions_trained_by(voter_key=key) if record.votes else []
    context = {"record": record, "versions": versions, "approximate": any(row.approximate for row in versions)}
    return render(request, "quiz/me.html", context)
