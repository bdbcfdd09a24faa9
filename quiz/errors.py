"""Domain errors of the quiz, each with the HTTP status an API answers with."""

from corrosiondetector.errors import DomainError


class QuizError(DomainError):
    pass


class RoundInvalid(QuizError):
    code = "round_invalid"


class RoundExpired(QuizError):
    code = "round_expired"


class RoundNotYours(QuizError):
    status_code = 403
    code = "round_not_yours"


class AlreadyVoted(QuizError):
    status_code = 409
    code = "already_voted"


class ImageNotInQuiz(QuizError):
    status_code = 404
    code = "not_found"


class AlreadyReported(QuizError):
    status_code = 409
    code = "already_reported"
