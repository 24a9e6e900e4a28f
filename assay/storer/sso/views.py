"""The login page: the password form (local accounts, the directory) and the provider's
button, each shown when configured."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.http import HttpRequest
from django.urls import reverse
from django.utils.http import urlencode


def login_context(request: HttpRequest) -> dict[str, Any]:
    """What the login page shows besides Django's form."""
    context: dict[str, Any] = {
        "password_login": settings.LOCAL_PASSWORD_LOGIN or settings.LDAP_ENABLED,
        "sso_name": settings.OIDC["PROVIDER_NAME"] if settings.OIDC else None,
        "next": request.GET.get("next", ""),
    }
    if settings.OIDC:
        url = reverse("sso:oidc_login")
        next_url = request.POST.get("next") or request.GET.get("next")
        context["sso_url"] = url + ("?" + urlencode({"next": next_url}) if next_url else "")
    return context


class LoginView(auth_views.LoginView):
    """Django's login view with the single sign-on choices."""

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = login_context(self.request)
        context.update(super().get_context_data(**kwargs))
        return context
