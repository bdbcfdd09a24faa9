"""Upload pages: a plain form that works without JavaScript, enhanced by static/js/upload.js."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from corrosiondetector.media import private_file_response, storage_for
from corrosiondetector.views import slow_down
from modelzoo.card import heatmap_description
from quiz.identity import ip_hash, voter_key
from quiz.models import Label
from uploads.errors import UploadError, UploadNotFound, UploadTooLarge, upload_max_megabytes
from uploads.files import UPLOAD_FILES, upload_file_urls
from uploads.identity import caller_key
from uploads.models import Upload
from uploads.selectors import upload_of_uploader, upload_visible, uploads_of, voter_shares_uploads
from uploads.serializers import share_from
from uploads.services import upload_correct, upload_create, upload_delete, upload_share
from uploads.throttles import upload_wait

MINE_PER_PAGE = 20

# What static/js/upload.js says, in the page's language: rendered into the page with json_script.
# %(name)s placeholders are filled in by the script.
JS_STRINGS = {
    "choose": gettext_lazy("Drop photos here, or choose them"),
    "chosen": gettext_lazy("Photos chosen: %(count)s"),
    "choose_first": gettext_lazy("Please choose a photo first."),
    "waiting": gettext_lazy("Waiting…"),
    "too_large": gettext_lazy("The file is larger than %(megabytes)s MB."),
    "uploading": gettext_lazy("Uploading…"),
    "refused": gettext_lazy("The upload was refused (HTTP %(status)s)."),
    "checking": gettext_lazy("Checking your photo…"),
    "lost": gettext_lazy("The upload did not get through. Please try again."),
    "slow": gettext_lazy("This is taking longer than usual."),
    "check_back": gettext_lazy("Check back here"),
    "not_fetched": gettext_lazy("The verdict could not be fetched."),
    "see_it": gettext_lazy("See it here"),
    "corrosion": gettext_lazy("Corrosion"),
    "no_corrosion": gettext_lazy("No corrosion"),
    "probability": gettext_lazy("probability of corrosion %(probability)s (model v%(version)s)"),
    # %(accuracy)s: the verdict's model's validation accuracy, as "91.2 %".
    "model_quality": gettext_lazy(
        "The probability is calibrated. This model was right on %(accuracy)s of the photos experts checked."
    ),
    "about_model": gettext_lazy("About the model and what it cannot do"),
    "heatmap_alt": gettext_lazy("Your photo with a heatmap: warm colours mark where the model sees corrosion."),
    "heatmap_caption": gettext_lazy("Warm colours mark where the model sees corrosion."),
    "no_model": gettext_lazy("No model is trained yet, so there is no verdict."),
    "failed": gettext_lazy("Sorry, the photo could not be classified."),
    "question": gettext_lazy("Is there corrosion in this photo? Your answer counts as your vote."),
    "yes": gettext_lazy("Yes, corrosion"),
    "no": gettext_lazy("No corrosion"),
    "recorded_corrosion": gettext_lazy("Thank you — recorded as “corrosion”."),
    "recorded_no_corrosion": gettext_lazy("Thank you — recorded as “no corrosion”."),
    "not_recorded": gettext_lazy("Your answer could not be recorded."),
}


@require_http_methods(["GET", "POST"])
def upload_page(request: HttpRequest) -> HttpResponse:
    context = {
        "max_megabytes": upload_max_megabytes(),
        "max_bytes": settings.UPLOAD_MAX_BYTES,
        "retention_days": settings.UPLOAD_RETENTION_DAYS,
        # Read on GET too: that issues the voter cookie, so all the page's JavaScript uploads carry one key.
        "share": voter_shares_uploads(key=voter_key(request)),
        "js_strings": JS_STRINGS,
    }
    if request.method == "GET":
        return render(request, "uploads/upload.html", context)
    try:
        share = share_from(request.POST.getlist("share"))
    except UploadError as error:
        return render(request, "uploads/upload.html", {**context, "error": error.message}, status=error.status_code)
    photos = _chosen_photos(request)
    if not photos:
        context.update(error=_("Please choose a photo first."), share=share)
        return render(request, "uploads/upload.html", context, status=400)
    results = []
    for photo in photos:
        # Each file counts: several at once are no way around the limit.
        wait = upload_wait(request)
        if wait and not results:
            return slow_down(request, wait, str(_TOO_FAST))
        results.append(_upload_one(request, photo, share=share, wait=wait))
    if len(results) == 1 and results[0].upload is not None:
        return redirect("uploads:result", upload_id=results[0].upload.id)
    return _results_page(request, {**context, "share": share}, results)


_TOO_FAST = gettext_lazy("You have uploaded a lot of photos in a short time.")


@dataclass(frozen=True)
class _Result:
    name: str
    upload: Upload | None = None
    error: UploadError | None = None


def _chosen_photos(request: HttpRequest) -> list:
    # Two inputs, because a phone offers its camera only for an input with `capture`: a photo taken
    # there arrives as `camera`, those chosen from the gallery (or dropped) as `image`.
    return request.FILES.getlist("camera") + request.FILES.getlist("image")


def _upload_one(request: HttpRequest, photo, *, share: bool, wait: int | None) -> _Result:
    """One file of the form, as its own upload; a refusal is this file's alone, the others still go."""
    try:
        if wait:
            message = ngettext(
                "%(reason)s Please send this one again in %(seconds)d second.",
                "%(reason)s Please send this one again in %(seconds)d seconds.",
                wait,
            ) % {"reason": _TOO_FAST, "seconds": wait}
            raise UploadError(message, status_code=429, code="throttled")
        if photo.size > settings.UPLOAD_MAX_BYTES:
            raise UploadTooLarge()
        upload = upload_create(data=photo.read(), uploader_key=voter_key(request), shared=share)
    except UploadError as error:
        return _Result(name=photo.name, error=error)
    return _Result(name=photo.name, upload=upload)


def _results_page(request: HttpRequest, context: dict, results: list[_Result]) -> HttpResponse:
    # Nothing stored: the (first) refusal's status, as for a single file; else 200 with each file's fate.
    status = 200 if any(result.upload for result in results) else results[0].error.status_code
    if len(results) == 1:
        return render(request, "uploads/upload.html", {**context, "error": results[0].error.message}, status=status)
    return render(request, "uploads/upload.html", {**context, "results": results}, status=status)


def upload_result_page(request: HttpRequest, upload_id) -> HttpResponse:
    upload = _visible_or_404(request, upload_id)
    is_uploader = upload.uploader_key == caller_key(request)
    context = {
        "upload": upload,
        "is_uploader": is_uploader,
        "urls": upload_file_urls(upload),
        # Computed once by the worker; nothing is claimed for a "no corrosion" verdict.
        "heatmap_description": heatmap_description(upload.heatmap_region) if upload.label == Label.CORROSION else "",
    }
    return render(request, "uploads/result.html", context)


def _visible_or_404(request: HttpRequest, upload_id):
    upload = upload_visible(upload_id=upload_id, viewer_key=caller_key(request))
    if upload is None:
        raise Http404(_("No such upload."))
    return upload


@require_POST
def upload_correct_page(request: HttpRequest, upload_id) -> HttpResponse:
    _visible_or_404(request, upload_id)
    choice = request.POST.get("corrosion")
    if choice not in ("true", "false"):
        messages.error(request, _("Please answer with one of the two buttons."))
        return redirect("uploads:result", upload_id=upload_id)
    try:
        upload_correct(
            upload_id=upload_id, voter_key=voter_key(request), corrosion=choice == "true", ip_hash=ip_hash(request)
        )
    except UploadError as error:
        messages.error(request, error.message)
        return redirect("uploads:result", upload_id=upload_id)
    messages.success(request, _("Thank you, your answer is recorded."))
    return redirect("uploads:result", upload_id=upload_id)


@require_POST
def upload_share_page(request: HttpRequest, upload_id) -> HttpResponse:
    choice = request.POST.get("shared")
    if choice not in ("true", "false"):
        messages.error(request, _("Please answer with one of the buttons."))
        return _back(request, upload_id)
    try:
        upload = upload_share(upload_id=upload_id, voter_key=caller_key(request), shared=choice == "true")
    except UploadNotFound as error:
        raise Http404(error.message) from None
    if upload.shared:
        messages.success(request, _("Shared with the crowd: volunteers may see it once it is approved."))
    else:
        messages.success(request, _("No longer shared: only you can see this photo."))
    return _back(request, upload_id)


@require_POST
def upload_delete_page(request: HttpRequest, upload_id) -> HttpResponse:
    try:
        upload_delete(upload_id=upload_id, voter_key=caller_key(request))
    except UploadNotFound as error:
        raise Http404(error.message) from None
    messages.success(request, _("Your photo is deleted, with its heatmap and your vote on it."))
    return redirect("uploads:mine")


def _back(request: HttpRequest, upload_id) -> HttpResponse:
    # The buttons are on the result page and on "My uploads"; each form says where it came from.
    if request.POST.get("next") == "mine":
        return redirect("uploads:mine")
    return redirect("uploads:result", upload_id=upload_id)


@require_GET
def uploads_mine_page(request: HttpRequest) -> HttpResponse:
    page = Paginator(uploads_of(uploader_key=caller_key(request)), MINE_PER_PAGE).get_page(request.GET.get("page"))
    rows = [(upload, upload_file_urls(upload)) for upload in page]
    context = {"page": page, "rows": rows, "retention_days": settings.UPLOAD_RETENTION_DAYS}
    return render(request, "uploads/mine.html", context)


@require_GET
def upload_file(request: HttpRequest, upload_id, kind: str) -> HttpResponse:
    """One of an upload's files, for its uploader alone; anyone else (and an unknown kind) gets 404."""
    if kind not in UPLOAD_FILES:
        raise Http404("No such file.")
    upload = upload_of_uploader(upload_id=upload_id, uploader_key=caller_key(request))
    if upload is None:
        raise Http404(_("No such upload."))
    name = UPLOAD_FILES[kind](upload)
    if not name:
        raise Http404("No such file.")
    return private_file_response(name, storage=storage_for(name), inline=True)
