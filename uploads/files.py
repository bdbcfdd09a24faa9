"""Where the files of photos, thumbnails and heatmaps live, and when they go.

A shared photo's files are on the public storage, an unshared one's on the private storage under
corrosiondetector.media.UNSHARED_PREFIX; the name says which (storage_for). Files are content-addressed, so
two rows may name the same file: a file is removed only once no row names it, and only after the
transaction that dropped the last reference commits, so that a rollback finds everything in place.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

from django.db import transaction
from django.db.models import Q
from django.urls import reverse

from corrosiondetector.media import is_unshared, shared_name, storage_for, unshared_name
from quiz.models import Image
from quiz.services.images import files_remove
from uploads.models import Upload


def files_in_use(names: Iterable[str]) -> set[str]:
    names = [name for name in names if name]
    if not names:
        return set()
    used = set(Upload.objects.filter(heatmap__in=names).values_list("heatmap", flat=True))
    for file, thumbnail in Image.objects.filter(Q(file__in=names) | Q(thumbnail__in=names)).values_list(
        "file", "thumbnail"
    ):
        used.update((file, thumbnail))
    return used


def files_remove_unused(names: Iterable[str]) -> None:
    names = {name for name in names if name}
    files_remove(sorted(names - files_in_use(names)))


def files_remove_unused_on_commit(names: Iterable[str]) -> None:
    transaction.on_commit(functools.partial(files_remove_unused, [name for name in names if name]))


def file_place(name: str, *, shared: bool, written: list[str]) -> str:
    """The name of this file on the storage `shared` calls for, copied there if it is not there yet.

    What this copies is added to `written` (the caller removes it if its transaction fails); the old file
    stays until the caller drops its references to it.
    """
    target = shared_name(name) if shared else unshared_name(name)
    if not name or target == name:
        return name
    storage = storage_for(target)
    if not storage.exists(target):
        with storage_for(name).open(name, "rb") as source:
            saved = storage.save(target, source)
        written.append(saved)
        target = saved
    return target


# What the uploader's private links serve: kind -> the file's name.
UPLOAD_FILES = {
    "photo": lambda upload: upload.image.file.name,
    "thumbnail": lambda upload: upload.image.thumbnail.name or upload.image.file.name,
    "heatmap": lambda upload: upload.heatmap.name,
}


def upload_file_url(upload: Upload, kind: str) -> str | None:
    """Where a page or the API links one of an upload's files; None when it has none (no heatmap yet).

    An unshared upload's files go through Django to the uploader alone (uploads.views.upload_file); a
    shared upload's are plain public media.
    """
    name = UPLOAD_FILES[kind](upload)
    if not name:
        return None
    if not upload.shared or is_unshared(name):
        return reverse("uploads:file", kwargs={"upload_id": upload.pk, "kind": kind})
    return storage_for(name).url(name)


def upload_file_urls(upload: Upload) -> dict[str, str | None]:
    return {kind: upload_file_url(upload, kind) for kind in UPLOAD_FILES}
