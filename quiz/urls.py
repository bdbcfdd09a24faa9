from django.urls import path

from quiz import apis, views

app_name = "quiz"

urlpatterns = [
    path("", views.quiz_page, name="home"),
    path("expertise/", views.expertise_set, name="expertise"),
    path("api/quiz/round/", apis.RoundApi.as_view(), name="api-round"),
    path("quiz/report/<int:image_id>/", views.report_page, name="report"),
    path("api/quiz/images/<str:image_id>/report/", apis.ReportApi.as_view(), name="api-report"),
    path("api/quiz/voter/", apis.VoterApi.as_view(), name="api-voter"),
]
