"""The quiz page: a plain HTML form, so it works without JavaScript and with a keyboard."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from corrosiondetector.views import slow_down
from quiz.errors import QuizError
from quiz.identity import ip_hash, voter_key
from quiz.models import Expertise
from quiz.rounds import round_token_make
from quiz.selectors import round_images_select, voter_get
from quiz.services.votes import vote_cast, voter_set_expertise
from quiz.throttles import quiz_wait


@require_http_methods(["GET", "POST"])
def quiz_page(request: HttpRequest) -> HttpResponse:
    key = voter_key(request)
    if request.method == "POST":
        return _submit_round(request)
    wait = quiz_wait(request)
    if wait:
        return slow_down(request, wait, "You have answered a lot of rounds very quickly.")
    images = round_images_select(voter_key=key)
    voter = voter_get(key=key)
    context = {
        "question": settings.QUIZ_QUESTION,
        "images": images,
        "round": round_token_make(voter_key=key, image_ids=[image.id for image in images]),
        "votes_cast": voter.votes_cast if voter else 0,
        "expertise": voter.expertise if voter else "",
        "expertise_choices": [c for c in Expertise.choices if c[0]],
    }
    return render(request, "quiz/quiz.html", context)


def _submit_round(request: HttpRequest) -> HttpResponse:
    try:
        ticked = [int(value) for value in request.POST.getlist("corrosion")]
    except ValueError:
        messages.error(request, "The form was not filled in correctly.")
        return redirect("quiz:home")
    try:
        result = vote_cast(
            voter_key=voter_key(request),
            round_token=request.POST.get("round", ""),
            corrosion_ids=ticked,
            ip_hash=ip_hash(request),
        )
    except QuizError as error:
        messages.error(request, error.message)
        return redirect("quiz:home")
    messages.success(request, f"Thank you! {len(result.votes)} answers recorded ({result.votes_cast} in total).")
    return redirect("quiz:home")


@require_POST
def expertise_set(request: HttpRequest) -> HttpResponse:
    expertise = request.POST.get("expertise", "")
    if expertise not in Expertise.values:
        messages.error(request, "Please choose one of the listed options.")
        return redirect("quiz:home")
    voter_set_expertise(voter_key=voter_key(request), expertise=expertise, ip_hash=ip_hash(request))
    messages.success(request, "Thanks, your expertise is saved.")
    return redirect("quiz:home")
