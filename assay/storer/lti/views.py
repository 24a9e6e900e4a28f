"""The tool's endpoints (docs/lti.md): the OIDC login initiation, the launch (resource link and
deep linking), the teacher's pick of assignments and the signed answer to the LMS, the tool's
public key set, a configuration for Canvas, and the course's LMS page for its staff (roster
sync, scores that could not be sent).

The platform posts the login and the launch from another site, often inside an iframe: those
two views take no CSRF token (the id_token's signature, the state cookie and the nonce protect
them), and the deep linking pick carries its launch's random id instead of a CSRF cookie that
a third-party iframe may not send."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from pylti1p3.deep_link_resource import DeepLinkResource
from pylti1p3.exception import LtiException, OIDCException
from pylti1p3.lineitem import LineItem

from assay.storer.courses.models import Assignment, Course, Membership
from assay.storer.courses.permissions import can_supervise

from . import launches, people, roster, scores
from .models import LtiAccount, LtiContext, Platform, ScoreReport
from .tool import Launch, find_platform, oidc_login

log = logging.getLogger("assay.storer.lti")
BACKEND = "assay.storer.accounts.sessions.UserBackend"


def site_url(path: str) -> str:
    base: str = getattr(settings, "SITE_URL")  # noqa: B009 - set by deployment_settings
    return base.rstrip("/") + path


def launch_url() -> str:
    return site_url(reverse("lti:launch"))


def refused(request: HttpRequest, message: str, status: int = 403) -> HttpResponse:
    return render(request, "lti/error.html", {"message": message}, status=status)


# what pylti1p3 says, and what the person in front of the LMS is told instead
EXPLAINED = [
    ("Signature verification failed", "the launch's signature does not verify with the "
     "platform's keys (bad signature): check the key set URL of the registration"),
    ("Signature has expired", "the launch has expired: open the link from the LMS again"),
    ("not yet valid", "the launch is dated in the future: the LMS's or assay's clock is wrong"),
    ("State not found", "this browser did not start the launch (its state cookie is missing "
     "or different): open the link from the LMS again; if it keeps failing, the browser blocks "
     "cookies in the LMS's frame: set the link to open in a new window"),
    ("Missing state", "the launch carries no state: open the link from the LMS again"),
    ("Registration not found", "assay has no registration for this platform and client id: "
     "an administrator registers it (docs/lti.md)"),
    ("Client id not registered", "the launch is not addressed to assay's client id (wrong "
     "audience): check the client id of the registration"),
    ("Unable to find deployment", "the launch's deployment id is not one of the registration's:"
     " an administrator adds it (assay lti add-deployment)"),
    ("is missing the", "the launch lacks a required claim"),
    ("Invalid JWT format", "the launch's id_token is not a valid JWT"),
    ("Missing id_token", "the launch carries no id_token"),
]  # fmt: skip


def explain(e: Exception) -> str:
    text = str(e)
    for found, message in EXPLAINED:
        if found in text:
            return f"{message} ({text})" if found == "is missing the" else message
    return text


# -- the launch -------------------------------------------------------------------------------


@csrf_exempt
@require_http_methods(["GET", "POST"])
def login(request: HttpRequest) -> HttpResponse:
    """OIDC third-party initiated login: remember a state (cookie) and a nonce, and send the
    browser to the platform's authentication URL, which posts the launch back."""
    params = request.POST if request.method == "POST" else request.GET
    issuer, client_id = params.get("iss", ""), params.get("client_id") or None
    if not issuer or not params.get("login_hint"):
        return refused(request, "this is not an LTI login request (no iss or login_hint)", 400)
    if find_platform(issuer, client_id) is None:
        return refused(
            request,
            f"assay has no registration for the platform {issuer} (client id "
            f"{client_id or 'not given'}): an administrator registers it (docs/lti.md)",
        )
    try:
        return oidc_login(request).redirect(launch_url())
    except (OIDCException, LtiException) as e:
        return refused(request, explain(e), 400)


@csrf_exempt
@require_POST
def launch(request: HttpRequest) -> HttpResponse:
    message = Launch(request)
    try:
        body: dict[str, Any] = dict(message.get_launch_data())
    except LtiException as e:
        log.info("LTI launch refused: %s", e)
        return refused(request, explain(e))
    platform = message.platform
    try:
        user = people.account(platform, body)
        if not user.is_active:
            raise launches.Refused("your assay account is deactivated: ask the administrators")
        if message.is_deep_link_launch():
            return _deep_link_page(request, message, platform, body, user)
        if not message.is_resource_launch():
            raise launches.Refused("assay answers resource link and deep linking launches only")
        link = launches.resource_link(platform, body, user)
        course = launches.enter_course(link.context, user, body)
    except (launches.Refused, ValueError) as e:
        return refused(request, str(e))
    auth_login(request, user, backend=BACKEND)
    if link.assignment is not None:
        a = link.assignment
        return redirect("web:assignment", slug=course.slug, assignment_slug=a.slug)
    if can_supervise(user, course):
        messages.info(
            request,
            "This LMS link opens no assignment yet: place assignments with the LMS's tool "
            "picker (deep linking).",
        )
    return redirect("web:course", slug=course.slug)


# -- deep linking -----------------------------------------------------------------------------


def _deep_link_user(platform: Platform, body: dict[str, Any]) -> Any:
    if people.course_role(launches.roles(body)) != Membership.SUPERVISOR:
        raise launches.Refused(
            "only the LMS course's teachers place assay assignments in it "
            f"(your role: {people.role_names(launches.roles(body))})"
        )
    return people.account(platform, body)


def _deep_link_page(
    request: HttpRequest, message: Launch, platform: Platform, body: dict[str, Any], user: Any,
    status: int = 200,
) -> HttpResponse:  # fmt: skip
    _deep_link_user(platform, body)
    ctx = launches.context(platform, body)
    if ctx.course is not None:
        launches.enter_course(ctx, user, body)  # an LMS teacher of a linked course is its staff
    courses = launches.deep_link_choices(ctx, user)
    settings_claim = body.get(launches.DEEP_LINKING) or {}
    assignments = (
        Assignment.objects.filter(course__in=courses, archived=False)
        .select_related("course")
        .order_by("course__title", "title")
    )
    auth_login(request, user, backend=BACKEND)
    return render(
        request,
        "lti/deep_link.html",
        {
            "launch_id": message.get_launch_id(),
            "context": ctx,
            "courses": courses,
            "assignments": assignments,
            "multiple": settings_claim.get("accept_multiple", True) is not False,
        },
        status=status,
    )


def _restore(request: HttpRequest) -> tuple[Launch, dict[str, Any], Any]:
    launch_id = request.POST.get("launch_id", "")
    message = Launch.restore(request, launch_id)
    body = dict(message.get_launch_data())
    user = _deep_link_user(message.platform, body)
    return message, body, user


@csrf_exempt  # the launch id (random, kept by the storer for an hour) is this form's token
@require_POST
def deep_link_course(request: HttpRequest) -> HttpResponse:
    """Make an assay course for the LMS course (not linked yet) and show the pick again."""
    try:
        message, body, user = _restore(request)
        ctx = launches.context(message.platform, body)
        if ctx.course is None:
            ctx.course = people.new_course(ctx.title, ctx.label, user)
            ctx.save(update_fields=["course"])
        return _deep_link_page(request, message, message.platform, body, user)
    except (LtiException, launches.Refused, ValueError) as e:
        return refused(request, str(e))


@csrf_exempt  # as deep_link_course
@require_POST
def deep_link_response(request: HttpRequest) -> HttpResponse:
    """The teacher's pick, sent back to the LMS as a signed LtiDeepLinkingResponse."""
    try:
        message, body, user = _restore(request)
        ctx = launches.context(message.platform, body)
        allowed = launches.deep_link_choices(ctx, user)
        ids = [int(i) for i in request.POST.getlist("assignment") if i.isdigit()]
        picked = list(
            Assignment.objects.filter(id__in=ids, course__in=allowed).select_related("course")
        )
        if len(picked) != len(ids) or not picked:
            raise launches.Refused("pick one or more assignments of your courses")
        if len({a.course_id for a in picked}) > 1:
            raise launches.Refused(
                "pick assignments of one course: an LMS course is linked to one assay course"
            )
        launches.link_course(ctx, picked[0].course, user)
        jwt = message.get_deep_link().get_response_jwt([_resource(a) for a in picked])
    except (LtiException, launches.Refused, ValueError) as e:
        return refused(request, str(e))
    message.storage.remove(message.get_launch_id())  # one answer per deep linking request
    return_url = (body.get(launches.DEEP_LINKING) or {}).get("deep_link_return_url", "")
    response = render(
        request, "lti/deep_link_return.html",
        {"return_url": return_url, "jwt": jwt, "picked": picked},
    )  # fmt: skip
    # the form goes to the LMS: this page's policy lets it (and only it) post there
    parts = urlsplit(return_url)
    response["Content-Security-Policy"] = settings.CONTENT_SECURITY_POLICY.replace(
        "form-action 'self'", f"form-action 'self' {parts.scheme}://{parts.netloc}"
    )
    return response


def _resource(a: Assignment) -> DeepLinkResource:
    """A resource link to the assignment, with a grade column (line item) of its points."""
    return (
        DeepLinkResource()
        .set_url(launch_url())
        .set_title(a.title)
        .set_custom_params({"assignment": str(a.id)})
        .set_lineitem(
            LineItem()
            .set_score_maximum(a.points)
            .set_label(a.title)
            .set_resource_id(str(a.id))
            .set_tag("assay")
        )
    )


# -- keys and configuration ---------------------------------------------------------------------


@require_GET
def jwks(request: HttpRequest) -> JsonResponse:
    """The tool's public keys, one per registration (the key id is its RFC 7638 thumbprint)."""
    return JsonResponse({"keys": [p.public_jwk() for p in Platform.objects.order_by("id")]})


@require_GET
def canvas_config(request: HttpRequest) -> JsonResponse:
    """A Canvas developer key's JSON configuration (Admin > Developer Keys > + LTI Key >
    Paste JSON)."""
    host = urlsplit(site_url("/")).hostname or ""
    return JsonResponse(
        {
            "title": "assay",
            "description": "Programming assignments evaluated in a sandbox.",
            "oidc_initiation_url": site_url(reverse("lti:login")),
            "target_link_uri": launch_url(),
            "public_jwk_url": site_url(reverse("lti:jwks")),
            "scopes": [
                "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
                "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
                "https://purl.imsglobal.org/spec/lti-ags/scope/score",
                roster.NRPS_SCOPE,
            ],
            "extensions": [
                {
                    "platform": "canvas.instructure.com",
                    "domain": host,
                    "privacy_level": "public",
                    "settings": {
                        "placements": [
                            {
                                "placement": placement,
                                "message_type": "LtiDeepLinkingRequest",
                                "target_link_uri": launch_url(),
                            }
                            for placement in ("assignment_selection", "link_selection")
                        ]  # fmt: skip
                    },
                }
            ],
            "custom_fields": {},
        }
    )


# -- the course's LMS page ------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def course(request: HttpRequest, slug: str) -> HttpResponse:
    """The LMS courses linked to the course, their roster sync, and the scores sent back."""
    c = get_object_or_404(Course, slug=slug)
    if not can_supervise(request.user, c):
        raise PermissionDenied("only the course's supervisors and administrators see its LMS links")
    if request.method == "POST":
        if request.POST.get("action") == "sync":
            ctx = get_object_or_404(LtiContext, pk=request.POST.get("context"), course=c)
            try:
                messages.success(request, f"Roster synced: {roster.sync(ctx).summary()}.")
            except roster.SyncError as e:
                messages.error(request, f"The roster could not be synced: {e}.")
        elif request.POST.get("action") == "resend":
            n = scores.resend_failed(c.id)
            messages.success(request, f"{n} score(s) will be sent again.")
        return redirect("lti:course", slug=c.slug)
    contexts = list(
        LtiContext.objects.filter(course=c).select_related("platform").prefetch_related("links")
    )
    reports = ScoreReport.objects.filter(link__context__course=c)
    failed = list(
        reports.filter(state=ScoreReport.FAILED)
        .select_related("student", "link__assignment")
        .order_by("-changed_at")[:50]
    )
    return render(
        request,
        "lti/course.html",
        {
            "course": c,
            "contexts": contexts,
            "pending": reports.filter(state=ScoreReport.PENDING).count(),
            "sent": reports.filter(state=ScoreReport.SENT).count(),
            "failed": failed,
            "accounts": LtiAccount.objects.filter(user__memberships__course=c).count(),
        },
    )
