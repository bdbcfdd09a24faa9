"""Round tokens: a signed, timestamped note of which images were served to which voter.

The token is what binds a submission to the voter who was served, so the vote
API needs no CSRF token and keeps no per-round state in the database.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.core import signing
from django.utils.translation import gettext as _

from quiz.errors import RoundExpired, RoundInvalid

_SALT = "quiz.round"


@dataclass(frozen=True)
class Round:
    voter_key: uuid.UUID
    image_ids: tuple[int, ...]


def round_token_make(*, voter_key: uuid.UUID, image_ids: list[int]) -> str:
    return signing.dumps({"v": voter_key.hex, "i": list(image_ids)}, salt=_SALT, compress=True)


def round_token_read(token: str, *, max_age: int) -> Round:
    try:
        payload = signing.loads(token, salt=_SALT, max_age=max_age)
    except signing.SignatureExpired:
        raise RoundExpired(_("This round has expired; please take a new one.")) from None
    except signing.BadSignature:
        raise RoundInvalid(_("The round token is not valid.")) from None
    try:
        voter = uuid.UUID(hex=payload["v"])
        image_ids = tuple(int(i) for i in payload["i"])
    except (KeyError, TypeError, ValueError):
        raise RoundInvalid(_("The round token is not valid.")) from None
    return Round(voter_key=voter, image_ids=image_ids)
