"""Pages for anyone with an account: join a course with its key (typed, or in the invitation
link: both end on a confirmation naming the course), and set one's password from the link a
new account's e-mail carries."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy

from assay.storer.courses.models import Membership
from assay.storer.evaluation.services import ServiceError
from assay.storer.roster import members as roster
from assay.storer.roster.models import normal_key

from .roster_forms import JoinForm
from .views import _user_id


@login_required
def join(request: HttpRequest) -> HttpResponse:
    """The "join a course" page: the typed key leads to the same confirmation as the link."""
    form = JoinForm(request.GET if "key" in request.GET else None)
    if form.is_bound and form.is_valid():
        try:
            roster.course_for_key(form.cleaned_data["key"])
        except ServiceError as e:
            form.add_error("key", e.message[0].upper() + e.message[1:] + ".")
        else:
            return redirect("web:join_key", key=normal_key(form.cleaned_data["key"]))
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "web/join.html", {"form": form}, status=status)


@login_required
def join_key(request: HttpRequest, key: str) -> HttpResponse:
    """The invitation link: what it joins, then (POST) the membership, as a student."""
    try:
        course = roster.course_for_key(key)
    except ServiceError as e:
        context = {"problem": e.message[0].upper() + e.message[1:] + "."}
        return render(request, "web/join_key.html", context, status=e.status)
    role = (
        Membership.objects.filter(course=course, user_id=_user_id(request))
        .values_list("role", flat=True)
        .first()
    )
    if request.method == "POST":
        course, joined = roster.join(request.user, key)
        if joined:
            messages.success(request, f"You joined {course.title} as a student.")
        else:
            messages.info(request, f"You are a {role} of {course.title} already.")
        return redirect("web:course", slug=course.slug)
    return render(request, "web/join_key.html", {"course": course, "key": key, "role": role})


class SetPasswordView(auth_views.PasswordResetConfirmView):
    """The link of the set-password e-mail: choose a password, then log in with it."""

    template_name = "web/set_password.html"
    success_url = reverse_lazy("web:login")

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        messages.success(self.request, "Your password is set: log in with it.")
        return response
