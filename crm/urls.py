from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from crm.health import healthz
from crm.login_form import LoginForm

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="contacts:list", permanent=False)),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True, authentication_form=LoginForm),
         name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # The one-time link a broker gives a new agent (or one whose password was reset) to set their password.
    path("password/<uidb64>/<token>/", auth_views.PasswordResetConfirmView.as_view(
        post_reset_login=False, success_url="/password/set/"), name="password_reset_confirm"),
    path("password/set/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path("contacts/", include("contacts_app.urls")),
    path("newsfeeds/", include("newsfeeds_app.urls")),
    path("sharing/", include("sharing_app.urls")),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
]

# Error pages in the app's layout (a transferred or deleted contact's old page says where it went).
handler403 = "contacts_app.views_site.permission_denied"
handler404 = "contacts_app.views_site.page_not_found"
handler500 = "contacts_app.views_site.server_error"
