"""LTI 1.3 (docs/lti.md): the platforms (LMSs) registered with the storer, the accounts,
contexts (LMS courses) and resource links their launches brought, the short-lived state of a
login between its initiation and its launch, and the scores waiting to go back to a platform."""

from __future__ import annotations

import functools
import json
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.db import models
from django.utils import timezone
from jwcrypto.jwk import JWK

from assay.storer.courses.models import Assignment, Course


def new_private_key() -> str:
    """A fresh RSA key (2048 bits, as the LTI platforms expect) in PEM."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


class Platform(models.Model):
    """One registration of assay as a tool in a platform: what the platform told us (issuer,
    client id, deployments, its three URLs) and the key pair assay signs with for it."""

    name = models.CharField(max_length=100, help_text="For people: e.g. 'University Moodle'.")
    issuer = models.URLField(max_length=300, help_text="The platform's issuer (iss), a URL.")
    client_id = models.CharField(max_length=300, help_text="The client id the platform gave.")
    deployment_ids = models.JSONField(
        default=list, blank=True,
        help_text='The deployment ids launches may carry, e.g. ["1"]; empty: any deployment.',
    )  # fmt: skip
    auth_login_url = models.URLField(
        max_length=500, help_text="The platform's OIDC authentication request URL."
    )
    auth_token_url = models.URLField(
        max_length=500, help_text="The platform's OAuth 2 access token URL (for AGS and NRPS)."
    )
    auth_audience = models.CharField(
        max_length=500, blank=True,
        help_text="The audience of the token request's assertion, if not the token URL.",
    )  # fmt: skip
    jwks_url = models.URLField(max_length=500, help_text="The platform's public key set URL.")
    # an e-mail address the platform sends is taken as proof of owning the account with that
    # address (a university's own LMS); otherwise a launch makes an account of its own
    trust_email = models.BooleanField(
        default=False,
        help_text="Link a launch to the existing account with the same e-mail address.",
    )
    private_key = models.TextField(default=new_private_key, editable=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["issuer", "client_id"], name="lti_one_registration")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.issuer}, client {self.client_id})"

    def public_jwk(self) -> dict[str, Any]:
        """The public half of the key, as a JWK with its key id (the RFC 7638 thumbprint)."""
        return dict(_public_jwk(self.private_key))

    def public_pem(self) -> str:
        return _public_pem(self.private_key)


# Loading an RSA private key checks it (about 0.1 s of CPU), and every launch, deep linking
# answer, score batch and key set request needs the public half: derived once per key.
@functools.lru_cache(maxsize=64)
def _public_jwk(private_pem: str) -> dict[str, Any]:
    jwk = JWK.from_pem(private_pem.encode())
    public = json.loads(jwk.export_public())
    public.update(alg="RS256", use="sig", kid=jwk.thumbprint())
    return public


@functools.lru_cache(maxsize=64)
def _public_pem(private_pem: str) -> str:
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


class LtiAccount(models.Model):
    """The assay account of a platform's user (its ``sub``)."""

    platform = models.ForeignKey(Platform, on_delete=models.CASCADE, related_name="accounts")
    sub = models.CharField(max_length=255)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="lti_accounts"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["platform", "sub"], name="lti_one_account_per_sub")
        ]

    def __str__(self) -> str:
        return f"{self.user} as {self.sub} on {self.platform.name}"


class LtiContext(models.Model):
    """A platform's course (an LTI context) and the assay course it is linked to, with the
    service URLs its last launch gave."""

    platform = models.ForeignKey(Platform, on_delete=models.CASCADE, related_name="contexts")
    context_id = models.CharField(max_length=255)
    course = models.ForeignKey(
        Course, null=True, blank=True, on_delete=models.SET_NULL, related_name="lti_contexts"
    )
    title = models.CharField(max_length=300, blank=True)
    label = models.CharField(max_length=100, blank=True)
    memberships_url = models.URLField(max_length=500, blank=True)  # NRPS
    lineitems_url = models.URLField(max_length=500, blank=True)  # AGS
    synced_at = models.DateTimeField(null=True, blank=True)  # the last roster sync (NRPS)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["platform", "context_id"], name="lti_one_context_per_id"
            )
        ]

    def __str__(self) -> str:
        return f"{self.title or self.context_id} on {self.platform.name} -> {self.course}"


class LtiLink(models.Model):
    """A resource link placed in a platform's course, the assignment it opens and the line
    item (grade column) its scores go to."""

    context = models.ForeignKey(LtiContext, on_delete=models.CASCADE, related_name="links")
    resource_link_id = models.CharField(max_length=255)
    assignment = models.ForeignKey(
        Assignment, null=True, blank=True, on_delete=models.SET_NULL, related_name="lti_links"
    )
    title = models.CharField(max_length=300, blank=True)
    lineitem_url = models.URLField(max_length=500, blank=True)
    scopes = models.JSONField(default=list, blank=True)  # the AGS scopes the platform granted

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["context", "resource_link_id"], name="lti_one_link_per_id"
            )
        ]

    def __str__(self) -> str:
        return f"{self.title or self.resource_link_id} -> {self.assignment}"


class LoginState(models.Model):
    """What pylti1p3 keeps between a login initiation and its launch (the nonce, the state's
    parameters) and the platforms' key sets it caches; each value expires."""

    key = models.CharField(max_length=255, unique=True)
    value = models.JSONField(null=True)
    expires_at = models.DateTimeField(null=True, db_index=True)


class ScoreReport(models.Model):
    """The score of one student on one resource link, to send to the platform (Assignment and
    Grade Services): the latest value wins, sent in the background, retried with backoff."""

    PENDING, SENT, FAILED = "pending", "sent", "failed"
    STATES = [(PENDING, "pending"), (SENT, "sent"), (FAILED, "failed")]

    link = models.ForeignKey(LtiLink, on_delete=models.CASCADE, related_name="scores")
    student = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    score_given = models.FloatField()
    score_maximum = models.FloatField()
    changed_at = models.DateTimeField(default=timezone.now)  # the score's timestamp
    state = models.CharField(max_length=10, choices=STATES, default=PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["link", "student"], name="lti_one_score_per_student")
        ]

    def __str__(self) -> str:
        return f"{self.score_given:g}/{self.score_maximum:g} of {self.student} on {self.link}"
