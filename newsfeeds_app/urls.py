from django.urls import path

from . import views

app_name = "newsfeeds"
urlpatterns = [
    path("", views.index, name="index"),
]
