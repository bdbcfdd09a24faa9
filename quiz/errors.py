"""Domain errors of the quiz, each with the HTTP status an API should answer with."""


class QuizError(Exception):
    http_status = 400
    code = "invalid"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class RoundInvalid(QuizError):
    code = "round_invalid"


class RoundExpired(QuizError):
    code = "round_expired"


class RoundNotYours(QuizError):
    http_status = 403
    code = "round_not_yours"


class AlreadyVoted(QuizError):
    http_status = 409
    code = "already_voted"
