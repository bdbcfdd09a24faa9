"""Upload pages: a plain form that works without JavaScript, enhanced by static/js/upload.js."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from corrosiondetector.views import slow_down
from quiz.identity import ip_hash, voter_key
from quiz.selectors import voter_get
from uploads.errors import UploadError, UploadTooLarge, upload_max_megabytes
from uploads.models import Upload
from uploads.services import upload_correct, upload_create
from uploads.throttles import upload_wait


@require_http_methods(["GET", "POST"])
def upload_page(request: HttpRequest) -> HttpResponse:
    context = {
        "max_megabytes": upload_max_megabytes(),
        "max_bytes": settings.UPLOAD_MAX_BYTES,
        "retention_days": settings.UPLOAD_RETENTION_DAYS,
        # Read on GET too: that issues the voter cookie, so all the page's JavaScript uploads carry one key.
        "share": _shares_by_default(voter_key(request)),
    }
    if request.method == "GET":
        return render(request, "uploads/upload.html", context)
    share = request.POST.get("share") == "true"
    photos = _chosen_photos(request)
    if not photos:
        context.update(error="Please choose a photo first.", share=share)
        return render(request, "uploads/upload.html", context, status=400)
    results = []
    for photo in photos:
        # Each file counts: several at once are no way around the limit.
        wait = upload_wait(request)
        if wait and not results:
            return slow_down(request, wait, _TOO_FAST)
        results.append(_upload_one(request, photo, share=share, wait=wait))
    if len(results) == 1 and results[0].upload is not None:
        return redirect("uploads:result", upload_id=results[0].upload.id)
    return _results_page(request, {**context, "share": share}, results)


_TOO_FAST = "You have uploaded a lot of photos in a short time."


@dataclass(frozen=True)
class _Result:
    name: str
    upload: Upload | None = None
    error: UploadError | None = None


def _shares_by_default(key) -> bool:
    voter = voter_get(key=key)
    return voter is not None and voter.shares_uploads


def _chosen_photos(request: HttpRequest) -> list:
    # Two inputs, because a phone offers its camera only for an input with `capture`: a photo taken
    # there arrives as `camera`, those chosen from the gallery (or dropped) as `image`.
    return request.FILES.getlist("camera") + request.FILES.getlist("image")


def _upload_one(request: HttpRequest, photo, *, share: bool, wait: int | None) -> _Result:
    """One file of the form, as its own upload; a refusal is this file's alone, the others still go."""
    try:
        if wait:
            message = f"{_TOO_FAST} Please send this one again in {wait} seconds."
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
    upload = get_object_or_404(Upload.objects.select_related("image", "model_version"), pk=upload_id)
    is_uploader = upload.uploader_key == voter_key(request)
    return render(request, "uploads/result.html", {"upload": upload, "is_uploader": is_uploader})


@require_POST
def upload_correct_page(request: HttpRequest, upload_id) -> HttpResponse:
    get_object_or_404(Upload, pk=upload_id)
    choice = request.POST.get("corrosion")
    if choice not in ("true", "false"):
        messages.error(request, "Please answer with one of the two buttons.")
        return redirect("uploads:result", upload_id=upload_id)
    try:
        upload_correct(
            upload_id=upload_id, voter_key=voter_key(request), corrosion=choice == "true", ip_hash=ip_hash(request)
        )
    except UploadError as error:
        messages.error(request, error.message)
        return redirect("uploads:result", upload_id=upload_id)
    messages.success(request, "Thank you, your answer is recorded.")
    return redirect("uploads:result", upload_id=upload_id)
