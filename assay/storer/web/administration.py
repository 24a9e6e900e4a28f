"""Pages for administrators: courses (list, create) and user accounts (list, create with a
set-password e-mail, deactivate, send the e-mail again). Others get a 403."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from assay.storer.courses.models import Course, Membership
from assay.storer.evaluation.services import ServiceError
from assay.storer.roster import accounts

from .paging import page_of
from .roster_forms import AccountForm, CourseForm
from .staff import admin_required
from .views import _bound


@admin_required
def courses(request: HttpRequest) -> HttpResponse:
    form = CourseForm(*_bound(request)[:1])
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            course = Course.objects.create(
                slug=form.cleaned_data["slug"], title=form.cleaned_data["title"]
            )
            if form.cleaned_data["supervisor"] is not None:
                Membership.objects.create(
                    course=course, user=form.cleaned_data["supervisor"], role=Membership.SUPERVISOR
                )
        messages.success(request, f"Course {course.title} created: add its members here.")
        return redirect("web:members", slug=course.slug)
    rows = Course.objects.annotate(
        students=Count("memberships", filter=Q(memberships__role=Membership.STUDENT)),
        supervisors=Count("memberships", filter=Q(memberships__role=Membership.SUPERVISOR)),
    ).order_by("-created_at", "slug")
    paged = page_of(request, rows)
    context = {"form": form, "rows": paged["page"], **paged}
    return render(
        request, "web/admin_courses.html", context, status=400 if request.method == "POST" else 200
    )


@admin_required
def users(request: HttpRequest) -> HttpResponse:
    form = AccountForm(*_bound(request)[:1])
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            user = accounts.create_account(
                d["username"], d["email"], d["first_name"], d["last_name"], d["administrator"]
            )
        except ServiceError as e:  # made by someone else since the form was checked
            form.add_error(e.field, e.message)
        else:
            if accounts.send_set_password([user]):
                messages.success(
                    request,
                    f"Account {user.username} created; {user.email} got a link to set a password.",
                )
            else:
                messages.error(
                    request,
                    f"Account {user.username} created, but the e-mail to {user.email} could not "
                    "be sent: check the mail settings, then send it again below.",
                )
            return redirect("web:admin_users")
    q = request.GET.get("q", "").strip()[:150]
    rows = get_user_model().objects.order_by("username")
    if q:
        rows = rows.filter(
            Q(username__icontains=q) | Q(email__icontains=q) | Q(first_name__icontains=q)
            | Q(last_name__icontains=q)
        )  # fmt: skip
    paged = page_of(request, rows)
    context = {"form": form, "rows": paged["page"], "q": q, **paged}
    return render(
        request, "web/admin_users.html", context, status=400 if request.method == "POST" else 200
    )


@admin_required
@require_POST
def user_active(request: HttpRequest, user_id: int) -> HttpResponse:
    user = get_object_or_404(get_user_model(), pk=user_id)
    active = request.POST.get("active") == "yes"
    try:
        accounts.set_active(user, active, request.user)
    except ServiceError as e:
        messages.error(request, e.message[0].upper() + e.message[1:] + ".")
    else:
        messages.success(
            request,
            f"{user.username} is active again."
            if active
            else f"{user.username} is deactivated: they can no longer log in or use their API tokens.",
        )
    return redirect("web:admin_users")


@admin_required
@require_POST
def user_mail(request: HttpRequest, user_id: int) -> HttpResponse:
    user = get_object_or_404(get_user_model(), pk=user_id)
    if not user.email:
        messages.error(request, f"{user.username} has no e-mail address.")
    elif accounts.send_set_password([user], "Here is a new link to set your assay password."):
        messages.success(request, f"A set-password link went to {user.email}.")
    else:
        messages.error(
            request, f"The e-mail to {user.email} could not be sent: check the mail settings."
        )
    return redirect("web:admin_users")
