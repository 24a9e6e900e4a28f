"""Which account an OpenID Connect login opens, made or brought up to date from the ID
token's claims (docs/sso.md, "Accounts")."""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from .models import Identity

log = logging.getLogger(__name__)


class SignInRefused(Exception):
    """The provider vouched for the user but assay does not let them in; the message says why
    and what to do, for the user."""


def _email(claims: dict[str, Any], conf: dict[str, Any]) -> tuple[str, bool]:
    """The e-mail address and whether the provider vouches for it."""
    email = str(claims.get(conf["EMAIL_CLAIM"]) or "").strip()
    verified = claims.get("email_verified") is True or conf["EMAILS_VERIFIED"]
    return email, bool(email) and verified


def account_for(issuer: str, claims: dict[str, Any], conf: dict[str, Any]) -> Any:
    """The account the provider's user logs in to, made or updated from the claims.

    1. With ASSAY_OIDC_ALLOWED_DOMAINS, the verified e-mail address must be in one of them.
    2. An account linked to (issuer, sub) is the one, whatever its username now.
    3. Else, with ASSAY_OIDC_MATCH_EMAIL, the one account with that verified address is linked.
    4. Else a new account is made, named by the username claim; a name an unlinked account
       already has is refused (else the provider's "alice" would take over assay's alice).
    """
    User = get_user_model()
    subject = str(claims["sub"])
    email, verified = _email(claims, conf)
    if conf["ALLOWED_DOMAINS"]:
        domain = email.rpartition("@")[2].lower()
        if not verified or domain not in conf["ALLOWED_DOMAINS"]:
            raise SignInRefused(
                "your account's e-mail address is not in "
                + " or ".join(conf["ALLOWED_DOMAINS"])
                + (" (or the provider did not verify it)" if email else "")
                + ". Sign in with your institution's account."
            )
    with transaction.atomic():
        identity = (
            Identity.objects.select_related("user")
            .select_for_update()
            .filter(issuer=issuer, subject=subject)
            .first()
        )
        user: Any
        if identity is not None:
            user = identity.user
        else:
            user = _existing_by_email(User, email) if conf["MATCH_EMAIL"] and verified else None
            if user is None:
                user = _new_account(User, claims, conf)
            identity = Identity.objects.create(user=user, issuer=issuer, subject=subject)
        if not user.is_active:
            raise SignInRefused("this account is disabled. Ask the administrator.")
        _update(user, claims, conf, email)
        identity.last_login_at = timezone.now()
        identity.save(update_fields=["last_login_at"])
    return user


def _existing_by_email(User: Any, email: str) -> Any:
    matches = list(User.objects.filter(email__iexact=email)[:2])
    if len(matches) > 1:
        raise SignInRefused(
            f"several accounts have the address {email}. Ask the administrator to link yours."
        )
    return matches[0] if matches else None


def _new_account(User: Any, claims: dict[str, Any], conf: dict[str, Any]) -> Any:
    username = str(claims.get(conf["USERNAME_CLAIM"]) or "").strip()
    if not username:
        raise SignInRefused(
            f"the provider sent no {conf['USERNAME_CLAIM']!r} claim to name your account "
            "(the administrator sets ASSAY_OIDC_USERNAME_CLAIM)."
        )
    username = username[: User._meta.get_field("username").max_length]
    if User.objects.filter(username__iexact=username).exists():
        raise SignInRefused(
            f"an account named {username!r} already exists and is not linked to this "
            "sign-in. Ask the administrator to link it (docs/sso.md), or log in with its "
            "password."
        )
    user = User(username=username)
    user.set_unusable_password()
    user.save()
    log.info("OpenID Connect: made the account %s", username)
    return user


def _update(user: Any, claims: dict[str, Any], conf: dict[str, Any], email: str) -> None:
    """The names and the address follow the provider's at every login; so does the
    administrator flag when ASSAY_OIDC_ADMIN_CLAIM is set."""
    fields = {
        "first_name": claims.get(conf["FIRST_NAME_CLAIM"]),
        "last_name": claims.get(conf["LAST_NAME_CLAIM"]),
        "email": email or None,
    }
    if conf["ADMIN_CLAIM"]:
        values = claims.get(conf["ADMIN_CLAIM"]) or []
        if isinstance(values, str):
            values = values.split()
        administrator = bool(set(map(str, values)) & set(conf["ADMIN_VALUES"]))
        fields["is_superuser"] = fields["is_staff"] = administrator
    changed = []
    for field, value in fields.items():
        if value is None:
            continue
        if isinstance(value, str):
            value = value.strip()[: user._meta.get_field(field).max_length]
        if getattr(user, field) != value:
            setattr(user, field, value)
            changed.append(field)
    if changed:
        user.save(update_fields=changed)
