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
from quiz.models import Wording

_SALT = "quiz.round"


@dataclass(frozen=True)
class Round:
    voter_key: uuid.UUID
    image_ids: tuple[int, ...]
    # The question the round was shown with: its votes answer that one, whatever QUIZ_WORDING says by then.
    wording: str = Wording.ANY


def round_token_make(*, voter_key: uuid.UUID, image_ids: list[int], wording: str = Wording.ANY) -> str:
    return signing.dumps({"v": voter_key.hex, "i": list(image_ids), "w": wording}, salt=_SALT, compress=True)


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
        # Tokens signed before wordings were recorded carry none: they were shown the original question.
        wording = payload.get("w", Wording.ANY)
    except (KeyError, TypeError, ValueError, AttributeError):
        raise RoundInvalid(_("The round token is not valid.")) from None
    if wording not in Wording.values:
        raise RoundInvalid(_("The round token is not valid."))
    return Round(voter_key=voter, image_ids=image_ids, wording=wording)


_FEEDBACK_SALT = "quiz.feedback"
# Long enough to read after a slow page load; a stale link just shows no feedback.
FEEDBACK_MAX_AGE = 3600


def feedback_token_make(*, voter_key: uuid.UUID, image_ids: list[int]) -> str:
    """Names the gold photos a voter has just answered, for the page that follows (the redirect's query)."""
    return signing.dumps({"v": voter_key.hex, "i": list(image_ids)}, salt=_FEEDBACK_SALT, compress=True)


def feedback_token_read(token: str, *, voter_key: uuid.UUID) -> list[int]:
    """The photo ids of a feedback token made for this voter; none for anything else (forged, old, someone else's)."""
    if not token:
        return []
    try:
        payload = signing.loads(token, salt=_FEEDBACK_SALT, max_age=FEEDBACK_MAX_AGE)
        if payload["v"] != voter_key.hex:
            return []
        return [int(i) for i in payload["i"]]
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return []
