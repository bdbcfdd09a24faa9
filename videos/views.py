"""Video pages and files. The page is static/js/video.js's; the files leave the private storage only here."""

from __future__ import annotations

import re
import uuid

from django.conf import settings
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_GET

from corrosiondetector.media import private_file_response, private_storage
from quiz.identity import voter_key
from uploads.identity import caller_key
from uploads.selectors import voter_shares_uploads
from videos.selectors import video_of_uploader, video_visible

KEY_FRAME_FILES = ("image", "heatmap")
# Stands for the id in the URL patterns handed to the page's script.
_ID_PLACEHOLDER = uuid.UUID(int=0)
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
# Codecs a browser plays from a Matroska file as WebM; any other Matroska clip keeps its own type.
_WEBM_CODECS = {"vp8", "vp9", "av1", "libdav1d", "libaom-av1"}
_MAX_RANGE_BYTES = 4 * 1024 * 1024


@require_GET
def video_page(request: HttpRequest, video_id: uuid.UUID | None = None) -> HttpResponse:
    """Upload a clip, then follow it: progress, timeline, key frames, player (static/js/video.js).

    With an id, the same page for a video the caller may see (the uploader's own link after an upload).
    """
    is_uploader = True  # of the clip this page is about to send
    if video_id is not None:
        video = video_visible(video_id=video_id, viewer_key=caller_key(request))
        if video is None:
            raise Http404("No such video.")
        is_uploader = video.uploader_key == caller_key(request)
    max_megabytes = settings.VIDEO_MAX_BYTES // (1024 * 1024)

    def pattern(name: str, **kwargs) -> str:
        return reverse(name, kwargs={"video_id": _ID_PLACEHOLDER, **kwargs})

    context = {
        "video_id": video_id,
        "is_uploader": is_uploader,
        "max_bytes": settings.VIDEO_MAX_BYTES,
        "max_megabytes": max_megabytes,
        "max_minutes": settings.VIDEO_MAX_SECONDS // 60,
        "retention_days": settings.UPLOAD_RETENTION_DAYS,
        "threshold": settings.VIDEO_SEGMENT_THRESHOLD,
        "every": settings.VIDEO_EVERY_SECONDS,
        "placeholder": str(_ID_PLACEHOLDER),
        "urls": {
            "create": reverse("videos:api-create"),
            "detail": pattern("videos:api-detail"),
            "share_frames": pattern("videos:api-share-frames"),
            "clip": pattern("videos:clip"),
            "page": pattern("videos:page-detail"),
        },
        # Read on GET: that issues the voter cookie, so the script's upload and its polls carry one key.
        "share": voter_shares_uploads(key=voter_key(request)),
    }
    return render(request, "videos/video.html", context)


@require_GET
def video_file(request: HttpRequest, video_id, index: int, kind: str) -> HttpResponse:
    """A key frame or its heatmap, for whoever may see the video (an unshared one: its uploader alone)."""
    video = video_visible(video_id=video_id, viewer_key=caller_key(request))
    if video is None or kind not in KEY_FRAME_FILES or index >= len(video.key_frames):
        raise Http404("No such file.")
    return private_file_response(video.key_frames[index][kind], storage=private_storage, inline=True)


@require_GET
def video_clip(request: HttpRequest, video_id) -> HttpResponse:
    """The clip itself, for its uploader alone (shared or not: volunteers get frames, never the footage).

    Byte ranges are answered, so that a player can seek to a segment without fetching the whole clip.
    """
    video = video_of_uploader(video_id=video_id, uploader_key=caller_key(request))
    if video is None:
        raise Http404("No such video.")
    name = video.file.name
    filename = "clip.webm" if video.codec in _WEBM_CODECS and name.endswith(".mkv") else None
    response = private_file_response(name, storage=private_storage, filename=filename, inline=True)
    if isinstance(response, FileResponse):
        response = _ranged(request, response, size=video.size)
    return response


def _ranged(request: HttpRequest, response: FileResponse, *, size: int) -> HttpResponse:
    """Django streams local files whole; a `Range: bytes=a-b` request gets 206 with just those bytes.

    Proxies (X-Accel-Redirect) and S3 (presigned URLs) answer ranges themselves.
    """
    response["Accept-Ranges"] = "bytes"
    match = _RANGE.match(request.headers.get("Range", "").strip())
    if match is None or not any(match.groups()):
        return response
    first, last = match.groups()
    if first:
        start, end = int(first), min(int(last), size - 1) if last else size - 1
    else:  # a suffix: the last N bytes
        start, end = max(0, size - int(last)), size - 1
    handle = response.file_to_stream
    if start >= size or start > end:
        handle.close()
        refused = HttpResponse(status=416)
        refused["Content-Range"] = f"bytes */{size}"
        add_never_cache_headers(refused)
        return refused
    # A browser asks for open ranges ("bytes=0-") first: a shorter answer than asked is allowed, and keeps
    # memory bounded; the player asks again from where it stopped.
    end = min(end, start + _MAX_RANGE_BYTES - 1)
    handle.seek(start)
    partial = HttpResponse(handle.read(end - start + 1), status=206)
    handle.close()
    for header in ("Content-Type", "Content-Disposition", "Cache-Control", "Expires"):
        if header in response:
            partial[header] = response[header]
    partial["Accept-Ranges"] = "bytes"
    partial["Content-Range"] = f"bytes {start}-{end}/{size}"
    add_never_cache_headers(partial)
    return partial
