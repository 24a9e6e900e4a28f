"""LDAP logins (django-auth-ldap): the login form's username and password are checked by a
bind to the directory; the account is made at the first login and its names, e-mail address
and administrator flag follow the directory at every login (settings: sso/conf.py)."""

from __future__ import annotations

from typing import Any

from django_auth_ldap.backend import LDAPBackend

from assay.storer.accounts.sessions import UserBackend


class DirectoryBackend(LDAPBackend):
    """django-auth-ldap's backend; a session's user is read as the local accounts' backend
    reads it (one raw SELECT, no directory search at every page)."""

    def get_user(self, user_id: Any) -> Any:
        return UserBackend().get_user(user_id)
