"""The quiz page: a plain HTML form, so it works without JavaScript and with a keyboard."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_http_methods, require_POST

from corrosiondetector.views import slow_down
from quiz.errors import AlreadyReported, ImageNotInQuiz, QuizError
from quiz.identity import ip_hash, voter_key
from quiz.models import QUESTIONS, Expertise, ReportReason
from quiz.rounds import feedback_token_make, feedback_token_read, round_token_make
from quiz.selectors import gold_feedback, image_in_quiz_get, round_images_select, voter_get
from quiz.services.reports import image_report
from quiz.services.votes import vote_cast, voter_set_expertise
from quiz.throttles import quiz_wait, report_wait

# What static/js/quiz.js says, in the page's language: rendered into the page with json_script.
JS_STRINGS = {
    "reported": gettext_lazy("Reported — thank you."),
    "already_reported": gettext_lazy("You have already reported this photo."),
    "gone": gettext_lazy("This photo is no longer in the quiz."),
    "failed": gettext_lazy("The report could not be sent; please try again."),
    "offline": gettext_lazy("The report could not be sent; check your connection and try again."),
}


@require_http_methods(["GET", "POST"])
def quiz_page(request: HttpRequest) -> HttpResponse:
    key = voter_key(request)
    if request.method == "POST":
        return _submit_round(request)
    wait = quiz_wait(request)
    if wait:
        return slow_down(request, wait, _("You have answered a lot of rounds very quickly."))
    images = round_images_select(voter_key=key)
    voter = voter_get(key=key)
    wording = settings.QUIZ_WORDING
    feedback_ids = feedback_token_read(request.GET.get("feedback", ""), voter_key=key)
    context = {
        "question": QUESTIONS[wording],
        "images": images,
        "round": round_token_make(voter_key=key, image_ids=[image.id for image in images], wording=wording),
        # Only after a round that held a gold question: what the experts said about it.
        "feedback": gold_feedback(voter_key=key, image_ids=feedback_ids) if feedback_ids else [],
        "votes_cast": voter.votes_cast if voter else 0,
        "expertise": voter.expertise if voter else "",
        "expertise_choices": [c for c in Expertise.choices if c[0]],
        "report_reasons": ReportReason.choices,
        "js_strings": JS_STRINGS,
    }
    return render(request, "quiz/quiz.html", context)


def _submit_round(request: HttpRequest) -> HttpResponse:
    try:
        ticked = [int(value) for value in request.POST.getlist("corrosion")]
    except ValueError:
        messages.error(request, _("The form was not filled in correctly."))
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
    messages.success(
        request,
        ngettext(
            "Thank you! %(count)d answer recorded (%(total)d in total).",
            "Thank you! %(count)d answers recorded (%(total)d in total).",
            len(result.votes),
        )
        % {"count": len(result.votes), "total": result.votes_cast},
    )
    if result.gold_image_ids:
        token = feedback_token_make(voter_key=voter_key(request), image_ids=result.gold_image_ids)
        return redirect(f"{reverse('quiz:home')}?{urlencode({'feedback': token})}")
    return redirect("quiz:home")


@require_POST
def expertise_set(request: HttpRequest) -> HttpResponse:
    expertise = request.POST.get("expertise", "")
    if expertise not in Expertise.values:
        messages.error(request, _("Please choose one of the listed options."))
        return redirect("quiz:home")
    voter_set_expertise(voter_key=voter_key(request), expertise=expertise, ip_hash=ip_hash(request))
    messages.success(request, _("Thanks, your expertise is saved."))
    return redirect("quiz:home")


@require_http_methods(["GET", "POST"])
def report_page(request: HttpRequest, image_id: int) -> HttpResponse:
    """ "Report this photo" without JavaScript: the photo, the reasons, and back to the quiz."""
    if request.method == "POST":
        return _submit_report(request, image_id)
    wait = quiz_wait(request)
    if wait:
        return slow_down(request, wait, _("You have asked for a lot of pages very quickly."))
    image = image_in_quiz_get(image_id=image_id)
    if image is None:
        raise Http404(_("There is no such photo in the quiz."))
    return render(request, "quiz/report.html", {"image": image, "reasons": ReportReason.choices})


def _submit_report(request: HttpRequest, image_id: int) -> HttpResponse:
    wait = report_wait(request)
    if wait:
        return slow_down(request, wait, _("You have reported a lot of photos very quickly."))
    reason = request.POST.get("reason", "")
    if reason not in ReportReason.values:
        messages.error(request, _("Please choose a reason."))
        return redirect("quiz:report", image_id=image_id)
    try:
        image_report(image_id=image_id, voter_key=voter_key(request), reason=reason, ip_hash=ip_hash(request))
    except AlreadyReported as error:
        messages.info(request, error.message)
    except ImageNotInQuiz:
        messages.info(request, _("Thank you: that photo is no longer in the quiz."))
    else:
        messages.success(request, _("Thank you for the report. Our staff will look at the photo."))
    return redirect("quiz:home")
