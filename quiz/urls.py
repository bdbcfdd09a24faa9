from django.urls import path

from quiz import apis, views

app_name = "quiz"

urlpatterns = [
    path("", views.quiz_page, name="home"),
    path("expertise/", views.expertise_set, name="expertise"),
    path("api/quiz/round/", apis.RoundApi.as_view(), name="api-round"),
    path("api/quiz/voter/", apis.VoterApi.as_view(), name="api-voter"),
]
