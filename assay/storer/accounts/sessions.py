"""Django's database sessions, and the session's user, each read with one raw SELECT: every page
and every poll of a page's live part reads both (docs/performance.md §12)."""

from __future__ import annotations

import functools
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.sessions.backends import db
from django.contrib.sessions.models import Session
from django.utils import timezone

from assay.storer import rawsql


class SessionStore(db.SessionStore):
    """``SESSION_ENGINE``: the same table and behaviour as Django's ``db`` engine."""

    def _get_session_from_db(self) -> Session | None:
        row = rawsql.one(_session_sql(), [self.session_key, rawsql.when(timezone.now())])
        if row is None:
            self._session_key = None
            return None
        return rawsql.load(Session, row)


@functools.cache
def _session_sql() -> str:
    c = rawsql.column
    return (
        f"SELECT {rawsql.columns(Session, 's')} FROM {rawsql.table(Session)} s"
        f" WHERE {c(Session, 'session_key', 's')} = %s AND {c(Session, 'expire_date', 's')} > %s"
    )


class UserBackend(ModelBackend):
    """Django's ``ModelBackend``; a session's user is read with one raw SELECT. Local passwords
    are checked unless ASSAY_LOCAL_LOGIN is false (single sign-on only, docs/sso.md)."""

    def authenticate(
        self, request: Any, username: Any = None, password: Any = None, **kwargs: Any
    ) -> Any:
        if not settings.LOCAL_PASSWORD_LOGIN:
            return None
        return super().authenticate(request, username, password, **kwargs)

    def get_user(self, user_id: Any) -> Any:
        User = get_user_model()
        row = rawsql.one(
            f"SELECT {rawsql.columns(User, 'u')} FROM {rawsql.table(User)} u WHERE u.id = %s",
            [user_id],
        )
        if row is None:
            return None
        user = rawsql.load(User, row)
        return user if self.user_can_authenticate(user) else None
