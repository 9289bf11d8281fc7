from django.urls import path

from . import views

app_name = "sharing"
urlpatterns = [
    path("", views.index, name="index"),
    path("new/", views.new, name="new"),
    path("new/listings/", views.picker, name="picker"),
    path("new/contacts/", views.contact_picker, name="contact_picker"),
    path("<int:pk>/", views.detail, name="detail"),
]
