"""Domain errors of the model zoo, each with the HTTP status an API answers with."""

from corrosiondetector.errors import DomainError


class ModelZooError(DomainError):
    pass


class TrainingAlreadyRunning(ModelZooError):
    status_code = 409
    code = "training_already_running"


class NoTrainingData(ModelZooError):
    status_code = 409
    code = "no_training_data"


class NoActiveModel(ModelZooError):
    status_code = 409
    code = "no_active_model"


class NothingToRollBackTo(ModelZooError):
    status_code = 409
    code = "nothing_to_roll_back_to"


class NoModelYet(ModelZooError):
    """The public model card when no version is active (nothing to describe yet)."""

    status_code = 404
    code = "no_active_model"
