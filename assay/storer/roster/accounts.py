"""User accounts made in the pages or the API (administrators) or by a roster import: no
password is typed by anyone but the account's owner. A new account gets an unusable password and
an e-mail with a link to set one (Django's password reset tokens: the link works once, and for
``PASSWORD_RESET_TIMEOUT`` seconds, three days by default)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage, get_connection
from django.core.validators import validate_email
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from assay.storer.evaluation.services import ServiceError

log = logging.getLogger(__name__)
NAME_CHARS = 150  # Django's username, first_name and last_name


def username_problem(username: str) -> str | None:
    """Why ``username`` cannot be a new account's username, or None."""
    if not username:
        return "a username is required"
    if len(username) > NAME_CHARS:
        return f"at most {NAME_CHARS} characters"
    try:
        get_user_model().username_validator(username)
    except ValidationError:
        return "only letters, digits and @ . + - _ (no spaces)"
    return None


def email_problem(email: str) -> str | None:
    if not email:
        return "an e-mail address is required (the account's owner sets a password from it)"
    try:
        validate_email(email)
    except ValidationError:
        return f"{email!r} is not an e-mail address"
    return None


def account_problems(
    username: str, email: str, first_name: str = "", last_name: str = ""
) -> list[tuple[str, str]]:
    """(field, message) for every value a new account cannot have, the database asked once."""
    found = []
    if problem := username_problem(username):
        found.append(("username", problem))
    elif get_user_model().objects.filter(username__iexact=username).exists():
        found.append(("username", f"an account named {username!r} exists already"))
    if problem := email_problem(email):
        found.append(("email", problem))
    for field, value in (("first_name", first_name), ("last_name", last_name)):
        if len(value) > NAME_CHARS:
            found.append((field, f"at most {NAME_CHARS} characters"))
    return found


def create_account(
    username: str,
    email: str,
    first_name: str = "",
    last_name: str = "",
    administrator: bool = False,
) -> Any:
    """A new active account without a usable password (its owner sets one from the e-mail
    ``send_set_password`` sends). Refused with a ServiceError naming the field."""
    problems = account_problems(username, email, first_name, last_name)
    if problems:
        field, message = problems[0]
        code = "exists" if "exists already" in message else "invalid"
        raise ServiceError(409 if code == "exists" else 400, code, f"{field}: {message}", field)
    user = new_account(username, email, first_name, last_name, administrator)
    user.save()
    return user


def new_account(
    username: str,
    email: str,
    first_name: str = "",
    last_name: str = "",
    administrator: bool = False,
) -> Any:
    """An account (not saved yet) whose owner has no password until they set one."""
    user = get_user_model()(
        username=username, email=email, first_name=first_name, last_name=last_name,
        is_superuser=administrator, is_staff=administrator,
    )  # fmt: skip
    user.set_unusable_password()
    return user


def set_password_url(user: Any) -> str:
    """The link that lets the account's owner choose a password (once; it stops working when
    the password changes or after PASSWORD_RESET_TIMEOUT)."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    path = reverse("web:set_password", kwargs={"uidb64": uid, "token": token})
    site_url: str = getattr(settings, "SITE_URL")  # noqa: B009 - set by deployment_settings
    return site_url.rstrip("/") + path


def _message(user: Any, why: str) -> EmailMessage:
    hours = round(settings.PASSWORD_RESET_TIMEOUT / 3600)
    return EmailMessage(
        subject="[assay] Set your password",
        body=(
            f"Hello {user.get_full_name() or user.username},\n\n"
            f"{why} Your username is {user.username}. Choose your password here:\n\n"
            f"{set_password_url(user)}\n\n"
            f"The link works once, for {hours} hours. If it has expired, ask your course's "
            f"staff or the administrators to send a new one.\n"
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[user.email],
    )


def send_set_password(users: Sequence[Any], why: str = "An assay account was made for you.") -> int:
    """Mail each user (with an address) a link to set their password, over one connection.
    The number sent; never raises (the accounts exist either way, and the mail can be sent
    again from the accounts page)."""
    messages = [_message(u, why) for u in users if u.email]
    if not messages:
        return 0
    try:
        return get_connection().send_messages(messages) or 0
    except Exception as e:  # noqa: BLE001 - a mail server's failure must not undo the accounts
        log.error("cannot send the set-password e-mail to %d account(s): %s", len(messages), e)
        return 0


def set_active(user: Any, active: bool, by: Any) -> None:
    """Deactivate (or reactivate) an account: a deactivated account cannot log in, and its
    sessions and API tokens stop working; its submissions stay. Nobody deactivates themself."""
    if not active and user.pk == by.pk:
        raise ServiceError(409, "yourself", "you cannot deactivate your own account", "active")
    user.is_active = active
    user.save(update_fields=["is_active"])
