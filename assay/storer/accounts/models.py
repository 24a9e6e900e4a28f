"""API tokens. Users and administrators are Django's (administrator = superuser); course roles
live in courses.Membership."""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ApiToken(models.Model):
    """A user's bearer token for the REST API; only its hash is stored."""

    PREFIX = "asy_"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, default="api")
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.user} / {self.name}"

    @classmethod
    def issue(cls, user, name: str = "api") -> str:
        """Create a token for ``user`` and return it (the only time it is seen in clear)."""
        token = cls.PREFIX + secrets.token_urlsafe(32)
        cls.objects.create(user=user, name=name, key_hash=hash_token(token))
        return token
