"""Pages of an assignment's rules (docs/deadlines.md): per-student extensions, unpublishing,
and the course's time zone; the settings themselves are on the manage page (staff.py)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from assay.storer.courses import extensions
from assay.storer.courses.models import Course, Membership
from assay.storer.evaluation.services import ServiceError

from .forms import local_datetime
from .paging import page_of
from .staff import supervisor_required
from .views import _bound, assignment_or_404


class ExtensionForm(forms.Form):
    student = forms.ChoiceField(label="Student")
    deadline = local_datetime("Their deadline", "After the assignment's deadline.")
    second_deadline = local_datetime(
        "Their second deadline", "Optional: late submissions until then, with the factor."
    )
    reason = forms.CharField(max_length=200, required=False, label="Reason (only staff see it)")

    def __init__(self, *args: Any, students: list[str], zone: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["student"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", "— choose —")] + [(s, s) for s in students]
        self.fields["deadline"].required = True
        for name in ("deadline", "second_deadline"):
            self.fields[name].help_text += f" In the course's time zone, {zone}."


@supervisor_required
def extensions_page(request: HttpRequest, course: Course, assignment_slug: str) -> HttpResponse:
    a = assignment_or_404(course, assignment_slug, request.user)
    students = list(
        Membership.objects.filter(course=course, role=Membership.STUDENT)
        .order_by("user__username")
        .values_list("user__username", flat=True)
    )
    form = ExtensionForm(*_bound(request)[:1], students=students, zone=course.time_zone)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            e = extensions.grant(
                a, data["student"], data["deadline"], data["second_deadline"],
                data["reason"], request.user,
            )  # fmt: skip
        except ServiceError as err:
            field = err.field if err.field in form.fields else None
            form.add_error(field, err.message.split(": ", 1)[-1] if field else err.message)
        else:
            messages.success(request, f"{e.student.username} has their own deadline now.")
            return redirect("web:extensions", slug=course.slug, assignment_slug=a.slug)
    paged = page_of(request, extensions.of_assignment(a))  # 50 students a page
    context = {"course": course, "a": a, "form": form, "rows": list(paged["page"]), **paged}
    status = 400 if request.method == "POST" else 200
    return render(request, "web/extensions.html", context, status=status)


@supervisor_required
@require_POST
def revoke_extension(
    request: HttpRequest, course: Course, assignment_slug: str, username: str
) -> HttpResponse:
    a = assignment_or_404(course, assignment_slug, request.user)
    try:
        extensions.revoke(a, username)
        messages.success(request, f"{username}'s extension is taken back.")
    except ServiceError as e:
        messages.error(request, e.message)
    return redirect("web:extensions", slug=course.slug, assignment_slug=a.slug)


@supervisor_required
@require_POST
def unpublish(request: HttpRequest, course: Course, assignment_slug: str) -> HttpResponse:
    a = assignment_or_404(course, assignment_slug, request.user)
    a.current_version = None
    a.save(update_fields=["current_version"])
    messages.success(
        request, "Unpublished: students no longer see it. Publish a version to show it again."
    )
    return redirect("web:manage_assignment", slug=course.slug, assignment_slug=a.slug)


class CourseSettingsForm(forms.ModelForm):
    class Meta:
        model = Course
        fields = ["time_zone"]
        labels = {"time_zone": "Time zone"}


@supervisor_required
def course_settings(request: HttpRequest, course: Course) -> HttpResponse:
    form = CourseSettingsForm(*_bound(request)[:1], instance=course)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, f"The course's times are in {course.time_zone} now.")
        return redirect("web:course_settings", slug=course.slug)
    status = 400 if request.method == "POST" else 200
    return render(
        request, "web/course_settings.html", {"course": course, "form": form}, status=status
    )
