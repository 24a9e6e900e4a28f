"""Which account an OpenID Connect provider's user logs in to."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Identity(models.Model):
    """A provider's user (its issuer and its `sub` claim, which the provider never reuses nor
    changes, unlike a username or an e-mail address) linked to an account. Made at the first
    login; an administrator may link an existing account by adding one in the admin."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sso_identities"
    )
    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255)
    created_at = models.DateTimeField(default=timezone.now)
    last_login_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "identities"
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="sso_identity_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} = {self.subject} at {self.issuer}"
