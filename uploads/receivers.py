"""What every deletion of an image or an upload entails, whatever deleted it: an uploader, retention, the
admin, a cascade (an image takes its uploads along), a management command.

Receivers rather than services because quiz, which owns Image, may not import uploads or modelzoo
(docs/architecture.md): this is the one place that sees every deletion.
"""

from __future__ import annotations

from modelzoo.services import model_versions_record_withdrawn
from quiz.models import Image
from uploads.files import files_remove_unused_on_commit
from uploads.models import Upload


def image_deleted(sender, instance: Image, **kwargs) -> None:
    files_remove_unused_on_commit([instance.file.name, instance.thumbnail.name])
    # In the deleting transaction: a rollback takes the record back with the row.
    model_versions_record_withdrawn(image_ids=[instance.pk])


def upload_deleted(sender, instance: Upload, **kwargs) -> None:
    files_remove_unused_on_commit([instance.heatmap.name])
