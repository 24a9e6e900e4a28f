"""API authentication: users by bearer token (``asy_…``) or session; testers by their own
bearer token (``tst_…``). A revoked tester credential stops working at once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone
from ninja.security import HttpBearer, SessionAuth

from assay.storer.accounts.models import ApiToken, hash_token
from assay.storer.evaluation.models import Tester

LAST_USED_EVERY = timedelta(minutes=1)  # how precise a token's last_used_at is


class UserToken(HttpBearer):
    def authenticate(self, request: Any, token: str) -> Any:
        if not token.startswith(ApiToken.PREFIX):
            return None
        row = ApiToken.objects.select_related("user").filter(key_hash=hash_token(token)).first()
        if row is None or not row.user.is_active:
            return None
        now = timezone.now()
        if row.last_used_at is None or now - row.last_used_at >= LAST_USED_EVERY:
            # to the minute, not a write (and, on SQLite, the database's write lock) per request
            ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
        request.user = row.user
        return row.user


class TesterToken(HttpBearer):
    def authenticate(self, request: Any, token: str) -> Any:
        if not token.startswith(Tester.PREFIX):
            return None
        tester = Tester.objects.filter(token_hash=hash_token(token), revoked=False).first()
        if tester is None:
            return None
        request.tester = tester
        return tester


USER_AUTH = [UserToken(), SessionAuth()]
TESTER_AUTH = [TesterToken()]
