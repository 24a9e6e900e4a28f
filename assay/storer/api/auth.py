"""API authentication: users by bearer token (``asy_…``) or session; testers by their own
bearer token (``tst_…``). A revoked tester credential stops working at once.

Both lookups are one raw SELECT (assay/storer/rawsql.py): every request of a deadline rush
makes one."""

from __future__ import annotations

import functools
from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone
from ninja.security import HttpBearer, SessionAuth

from assay.storer import rawsql
from assay.storer.accounts.models import ApiToken, hash_token
from assay.storer.evaluation.models import Tester

LAST_USED_EVERY = timedelta(minutes=1)  # how precise a token's last_used_at is
# what a token's user is loaded with (other fields load on use)
USER_FIELDS = (
    "id", "username", "first_name", "last_name", "email", "is_staff", "is_active",
    "is_superuser",
)  # fmt: skip


class UserToken(HttpBearer):
    def authenticate(self, request: Any, token: str) -> Any:
        if not token.startswith(ApiToken.PREFIX):
            return None
        row = rawsql.one(_user_token_sql(), [hash_token(token)])
        if row is None:
            return None
        token_id, last_used_at, *fields = row
        user = rawsql.load(get_user_model(), fields, USER_FIELDS)
        if not user.is_active:
            return None
        now = timezone.now()
        last_used_at = rawsql.aware(last_used_at)
        if last_used_at is None or now - last_used_at >= LAST_USED_EVERY:
            # to the minute, not a write (and, on SQLite, the database's write lock) per request
            ApiToken.objects.filter(pk=token_id).update(last_used_at=now)
        request.user = user
        return user


@functools.cache
def _user_token_sql() -> str:
    User, c = get_user_model(), rawsql.column
    return (
        f"SELECT t.id, {c(ApiToken, 'last_used_at', 't')}, {rawsql.columns(User, 'u', USER_FIELDS)}"
        f" FROM {rawsql.table(ApiToken)} t JOIN {rawsql.table(User)} u"
        f" ON u.id = {c(ApiToken, 'user', 't')} WHERE {c(ApiToken, 'key_hash', 't')} = %s"
    )


class TesterToken(HttpBearer):
    def authenticate(self, request: Any, token: str) -> Any:
        if not token.startswith(Tester.PREFIX):
            return None
        row = rawsql.one(_tester_token_sql(), [hash_token(token), False])
        if row is None:
            return None
        tester = rawsql.load(Tester, row)
        request.tester = tester
        return tester


@functools.cache
def _tester_token_sql() -> str:
    c = rawsql.column
    return (
        f"SELECT {rawsql.columns(Tester, 't')} FROM {rawsql.table(Tester)} t"
        f" WHERE {c(Tester, 'token_hash', 't')} = %s AND {c(Tester, 'revoked', 't')} = %s"
    )


USER_AUTH = [UserToken(), SessionAuth()]
TESTER_AUTH = [TesterToken()]
