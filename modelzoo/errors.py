class ModelZooError(Exception):
    http_status = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class TrainingAlreadyRunning(ModelZooError):
    http_status = 409


class NoTrainingData(ModelZooError):
    http_status = 409


class NoActiveModel(ModelZooError):
    http_status = 409


class NothingToRollBackTo(ModelZooError):
    http_status = 409
