"""The registrations and what the launches brought, for administrators: a platform is
registered here or with `assay lti add-platform`; an LMS course may be linked to another assay
course here."""

from __future__ import annotations

import json

from django.contrib import admin
from django.utils.html import format_html

from .models import LtiAccount, LtiContext, LtiLink, Platform, ScoreReport


@admin.register(Platform)
class PlatformAdmin(admin.ModelAdmin):
    list_display = ("name", "issuer", "client_id", "trust_email", "created_at")
    readonly_fields = ("public_key",)

    @admin.display(description="assay's public key for this platform (JWK)")
    def public_key(self, obj: Platform) -> str:
        if not obj.pk:
            return "made when the registration is saved"
        return format_html("<pre>{}</pre>", json.dumps(obj.public_jwk(), indent=2))


@admin.register(LtiContext)
class LtiContextAdmin(admin.ModelAdmin):
    list_display = ("title", "context_id", "platform", "course", "synced_at")
    list_filter = ("platform",)
    raw_id_fields = ("course",)


@admin.register(LtiLink)
class LtiLinkAdmin(admin.ModelAdmin):
    list_display = ("title", "resource_link_id", "context", "assignment", "lineitem_url")
    raw_id_fields = ("assignment", "context")


@admin.register(LtiAccount)
class LtiAccountAdmin(admin.ModelAdmin):
    list_display = ("user", "sub", "platform", "created_at")
    raw_id_fields = ("user",)
    search_fields = ("user__username", "sub")


@admin.register(ScoreReport)
class ScoreReportAdmin(admin.ModelAdmin):
    list_display = ("student", "link", "score_given", "score_maximum", "state", "attempts", "changed_at", "error")  # fmt: skip
    list_filter = ("state",)
    raw_id_fields = ("student", "link")
