"""Files that must not be public, and how the people allowed to see them get them.

Public media (photos, thumbnails, heatmaps) live in the "default" storage and are served by the proxy or
the bucket at plain URLs. Everything else lives in the "private" storage (settings.STORAGES) and reaches a
user only through a view that checked who is asking, via `private_file_response`.
"""

from __future__ import annotations

import mimetypes
import posixpath
from urllib.parse import quote

from django.conf import settings
from django.core.files.storage import Storage, default_storage, storages
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import FileResponse, Http404, HttpResponse, HttpResponseRedirect
from django.utils.cache import add_never_cache_headers
from django.utils.functional import LazyObject, empty

PRIVATE_STORAGE_ALIAS = "private"


class _PrivateStorage(LazyObject):
    """storages["private"], looked up at first use (like default_storage), so a FileField can name it."""

    def _setup(self):
        self._wrapped = storages[PRIVATE_STORAGE_ALIAS]


private_storage = _PrivateStorage()


# Photos, thumbnails and heatmaps that only their uploader may see live on the private storage under
# this folder. The name carries it, so a name alone says which storage holds the file; and locally, where
# both storages share MEDIA_ROOT, the proxy's public /media/ paths (images/, thumbnails/, heatmaps/)
# can never reach it.
UNSHARED_PREFIX = "unshared/"


def is_unshared(name: str) -> bool:
    return name.startswith(UNSHARED_PREFIX)


def unshared_name(name: str) -> str:
    return name if is_unshared(name) else UNSHARED_PREFIX + name


def shared_name(name: str) -> str:
    return name.removeprefix(UNSHARED_PREFIX)


def storage_for(name: str) -> Storage:
    """The storage holding a photo, thumbnail or heatmap of this name."""
    return private_storage if is_unshared(name) else default_storage


def get_private_storage() -> Storage:
    """For `FileField(storage=get_private_storage)`: migrations record this function, not a backend."""
    return private_storage


@receiver(setting_changed)
def _private_storage_reset(*, setting, **kwargs) -> None:
    # Django resets default_storage when a test overrides STORAGES; this one must follow too.
    if setting == "STORAGES":
        private_storage._wrapped = empty


def _is_local(storage: Storage) -> bool:
    try:
        storage.path("")
    except NotImplementedError:
        return False
    return True


def private_file_response(
    name: str, *, storage: Storage | None = None, filename: str | None = None, inline: bool = False
) -> HttpResponse:
    """Send a private file to a user the calling view has already allowed to see it.

    Remote storage (S3): a redirect to a presigned URL that expires after S3_PRESIGN_SECONDS.
    Local storage behind a proxy (MEDIA_ACCEL_REDIRECT_PREFIX set): an empty response whose
    X-Accel-Redirect tells the proxy which file to send from its internal location. Otherwise Django
    streams the file. A missing file is a 404. Never cached: the answer depends on who asked.
    `inline`: shown in the page (a photo), not saved as a download.
    """
    storage = storage or private_storage
    filename = filename or posixpath.basename(name)
    if not name or not storage.exists(name):
        raise Http404("No such file.")
    content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    disposition = _disposition(filename, inline=inline)
    if not _is_local(storage):
        response = HttpResponseRedirect(_signed_url(storage, name, disposition=disposition, content_type=content_type))
    elif settings.MEDIA_ACCEL_REDIRECT_PREFIX:
        response = HttpResponse(content_type=content_type)
        response["X-Accel-Redirect"] = settings.MEDIA_ACCEL_REDIRECT_PREFIX + quote(name)
        response["Content-Disposition"] = disposition
    else:
        response = FileResponse(storage.open(name, "rb"), as_attachment=not inline, filename=filename)
        response["Content-Type"] = content_type
    add_never_cache_headers(response)
    return response


def _signed_url(storage: Storage, name: str, *, disposition: str, content_type: str) -> str:
    try:
        # S3 answers the download with these headers, so the browser saves it under its name.
        return storage.url(
            name, parameters={"ResponseContentDisposition": disposition, "ResponseContentType": content_type}
        )
    except TypeError:  # a remote storage whose url() takes no S3 parameters
        return storage.url(name)


def _disposition(filename: str, *, inline: bool) -> str:
    # ASCII fallback plus RFC 5987 for the real name, as FileResponse writes it.
    fallback = filename.encode("ascii", "replace").decode().replace('"', "").replace("\\", "")
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"
