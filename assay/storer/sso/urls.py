from django.urls import path

from . import oidc

app_name = "sso"

urlpatterns = [
    path("login/oidc/", oidc.login, name="oidc_login"),
    path("login/oidc/callback/", oidc.callback, name="oidc_callback"),
]
