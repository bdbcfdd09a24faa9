from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from corrosiondetector.media import private_file_response, private_storage
from uploads.identity import caller_key
from videos.selectors import video_visible

KEY_FRAME_FILES = ("image", "heatmap")


@require_GET
def video_file(request: HttpRequest, video_id, index: int, kind: str) -> HttpResponse:
    """A key frame or its heatmap, for whoever may see the video (an unshared one: its uploader alone)."""
    video = video_visible(video_id=video_id, viewer_key=caller_key(request))
    if video is None or kind not in KEY_FRAME_FILES or index >= len(video.key_frames):
        raise Http404("No such file.")
    return private_file_response(video.key_frames[index][kind], storage=private_storage, inline=True)
