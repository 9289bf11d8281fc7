from django.urls import path

from . import views

app_name = "newsfeeds"
urlpatterns = [
    path("", views.index, name="index"),
    path("schedule/", views.default_schedule, name="default_schedule"),
    path("preview/", views.preview, name="preview"),
    path("bulk/", views.bulk_start, name="bulk"),
    path("jobs/<int:pk>/", views.bulk_job, name="job"),
    path("<int:pk>/", views.feed_schedule, name="feed"),
]
