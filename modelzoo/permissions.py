from rest_framework.permissions import BasePermission


def can_trigger_training(user) -> bool:
    return bool(
        user
        and user.is_authenticated
        and user.is_active
        and (user.is_staff or user.has_perm("modelzoo.trigger_training"))
    )


def can_view_models(user) -> bool:
    return can_trigger_training(user) or bool(
        user and user.is_authenticated and user.has_perm("modelzoo.view_modelversion")
    )


class CanTriggerTraining(BasePermission):
    message = "Retraining needs the 'Can trigger a retrain' permission (researchers and staff)."

    def has_permission(self, request, view) -> bool:
        return can_trigger_training(request.user)


class CanViewModels(BasePermission):
    message = "Model versions are visible to researchers and staff."

    def has_permission(self, request, view) -> bool:
        return can_view_models(request.user)
