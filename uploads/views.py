"""Upload pages: a plain form that works without JavaScript, enhanced by static/js/upload.js."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from corrosiondetector.views import slow_down
from quiz.identity import ip_hash, voter_key
from uploads.errors import UploadError, UploadTooLarge, upload_max_megabytes
from uploads.models import Upload
from uploads.services import upload_correct, upload_create
from uploads.throttles import upload_wait


@require_http_methods(["GET", "POST"])
def upload_page(request: HttpRequest) -> HttpResponse:
    context = {"max_megabytes": upload_max_megabytes()}
    if request.method == "POST":
        wait = upload_wait(request)
        if wait:
            return slow_down(request, wait, "You have uploaded a lot of photos in a short time.")
        uploaded = _chosen_photo(request)
        try:
            if uploaded is None:
                raise UploadError("Please choose a photo first.")
            if uploaded.size > settings.UPLOAD_MAX_BYTES:
                raise UploadTooLarge()
            upload = upload_create(data=uploaded.read(), uploader_key=voter_key(request))
        except UploadError as error:
            return render(request, "uploads/upload.html", {**context, "error": error.message}, status=error.status_code)
        return redirect("uploads:result", upload_id=upload.id)
    return render(request, "uploads/upload.html", context)


def _chosen_photo(request: HttpRequest):
    # Two inputs, because a phone offers its camera only for an input with `capture`: a photo taken
    # there arrives as `camera`, one chosen from the gallery (or dropped) as `image`.
    return request.FILES.get("camera") or request.FILES.get("image")


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
