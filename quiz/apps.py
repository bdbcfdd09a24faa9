from django.apps import AppConfig


class QuizConfig(AppConfig):
    name = "quiz"
    verbose_name = "Quiz and image pool"

    def ready(self) -> None:
        from quiz import review_admin  # noqa: F401  (registers the review queue with the admin site)
