"""The members page of a course (its supervisors): the members in pages, each with their role
to change and a remove button (confirmed first); add a member by username; self-enrolment on
or off, with the course key and the invitation link (regenerable); a roster CSV imported after a
preview of what it will do."""

from __future__ import annotations

import base64
import binascii

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from assay.storer.courses.models import Course, Membership
from assay.storer.courses.permissions import can_view
from assay.storer.evaluation.services import ServiceError
from assay.storer.roster import csvimport
from assay.storer.roster import members as roster

from .paging import page_of
from .roster_forms import AddMemberForm, RosterForm
from .staff import supervisor_required
from .views import _bound


def _page(
    request: HttpRequest, course: Course, form: AddMemberForm, status: int = 200
) -> HttpResponse:
    rows = (
        Membership.objects.filter(course=course)
        .select_related("user")
        .order_by("role", "user__username")
    )
    paged = page_of(request, rows)
    enrolment = roster.enrolment(course)
    context = {
        "course": course, "form": form, "roster_form": RosterForm(), "rows": paged["page"],
        "enrolment": enrolment,
        "invitation": request.build_absolute_uri(roster.invitation_path(enrolment)),
        "roles": Membership.ROLES, **paged,
    }  # fmt: skip
    return render(request, "web/members.html", context, status=status)


@supervisor_required
def members(request: HttpRequest, course: Course) -> HttpResponse:
    form = AddMemberForm(*_bound(request)[:1], prefix="add")
    if request.method == "POST" and form.is_valid():
        user = form.cleaned_data["username"]
        try:
            roster.set_role(course, user, form.cleaned_data["role"])
        except ServiceError as e:
            form.add_error("role", e.message)
        else:
            messages.success(
                request, f"{user.username} is a {form.cleaned_data['role']} of the course."
            )
            return redirect("web:members", slug=course.slug)
    return _page(request, course, form, status=400 if request.method == "POST" else 200)


def _member(course: Course, user_id: int) -> Membership:
    return get_object_or_404(
        Membership.objects.select_related("user"), course=course, user_id=user_id
    )


@supervisor_required
@require_POST
def change_role(request: HttpRequest, course: Course, user_id: int) -> HttpResponse:
    m = _member(course, user_id)
    role = request.POST.get("role", "")
    try:
        roster.set_role(course, m.user, role)
        messages.success(request, f"{m.user.username} is now a {role}.")
    except ServiceError as e:
        messages.error(request, e.message[0].upper() + e.message[1:] + ".")
    return redirect("web:members", slug=course.slug)


@supervisor_required
def remove_member(request: HttpRequest, course: Course, user_id: int) -> HttpResponse:
    m = _member(course, user_id)
    if request.method != "POST" or request.POST.get("confirm") != "yes":
        return render(request, "web/confirm_remove_member.html", {"course": course, "m": m})
    try:
        roster.remove(course, m.user)
    except ServiceError as e:
        messages.error(request, e.message[0].upper() + e.message[1:] + ".")
        return redirect("web:members", slug=course.slug)
    messages.success(request, f"{m.user.username} is no longer a member of {course.title}.")
    if not can_view(request.user, course):  # a supervisor who removed themself
        return redirect("web:home")
    return redirect("web:members", slug=course.slug)


@supervisor_required
@require_POST
def enrolment(request: HttpRequest, course: Course) -> HttpResponse:
    action = request.POST.get("action")
    if action in ("open", "close"):
        roster.set_open(course, action == "open")
        messages.success(
            request,
            "Self-enrolment is on: students join with the key or the link."
            if action == "open"
            else "Self-enrolment is off: the key and the link no longer let anyone join.",
        )
    elif action == "regenerate":
        roster.regenerate(course)
        messages.success(request, "A new key and link: the old ones no longer work.")
    else:
        messages.error(request, "Unknown action.")
    return redirect(f"{_members_url(course)}#self-enrolment")


def _members_url(course: Course) -> str:
    return reverse("web:members", kwargs={"slug": course.slug})


@supervisor_required
@require_POST
def import_roster(request: HttpRequest, course: Course) -> HttpResponse:
    """A file: the preview (nothing changed). The preview's confirmation: the same bytes again
    (in a hidden field), read again and imported if they still have no problem."""
    if request.POST.get("confirm") == "yes":
        try:
            data = base64.b64decode(request.POST.get("data", ""), validate=True)
        except (binascii.Error, ValueError):
            messages.error(request, "The preview was damaged: upload the roster again.")
            return redirect(f"{_members_url(course)}#roster")
        done = csvimport.apply_roster(data, course)
        if not done.plan.ok:
            return _preview(request, course, done.plan, data, status=400)
        s = done.plan.summary()
        messages.success(
            request,
            f"Roster imported: {s['new_accounts']} new account(s), {s['enrolled']} enrolled, "
            f"{s['made_supervisor']} made supervisor, {s['unchanged']} already member(s).",
        )
        if len(done.created) > done.mailed:
            messages.error(
                request,
                f"The set-password e-mail could not be sent to {len(done.created) - done.mailed} "
                "new account(s): the administrators can send it again from the accounts page.",
            )
        elif done.created:
            messages.success(request, f"{done.mailed} set-password e-mail(s) sent.")
        return redirect("web:members", slug=course.slug)
    form = RosterForm(request.POST, request.FILES)
    if not form.is_valid():
        return _refused(request, course, form)
    data = form.cleaned_data["roster"]
    return _preview(request, course, csvimport.read_roster(data, course), data)


def _refused(request: HttpRequest, course: Course, form: RosterForm) -> HttpResponse:
    for error in form.errors.get("roster", []):
        messages.error(request, f"Roster (CSV): {error}")
    return redirect(f"{_members_url(course)}#roster")


def _preview(
    request: HttpRequest, course: Course, plan: csvimport.Plan, data: bytes, status: int = 200
) -> HttpResponse:
    context = {
        "course": course, "plan": plan, "summary": plan.summary(),
        "data": base64.b64encode(data).decode() if plan.ok else "",
    }  # fmt: skip
    return render(request, "web/roster_preview.html", context, status=status)
