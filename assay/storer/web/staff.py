"""Pages for supervisors (and administrators): packages and their validation, assignment
settings, all submissions, re-evaluation with a live progress bar (grades and statistics:
grades.py; members: members.py); and for administrators the retry of a failed evaluation (the
queue page: queue.py)."""

from __future__ import annotations

from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from assay.storer.courses.models import Assignment, AssignmentVersion, Course, Membership
from assay.storer.courses.permissions import can_supervise, is_admin
from assay.storer.evaluation import batches, lists, services
from assay.storer.evaluation.models import Job, Submission
from assay.storer.groups.services import in_teams

from .forms import AssignmentSettingsForm, PackageForm, VersionForm
from .paging import page_of
from .views import _bound, assignment_or_404, course_or_404, submission_or_404


def supervisor_required(view: Any) -> Any:
    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, slug: str, *args: Any, **kwargs: Any) -> HttpResponse:
        course = course_or_404(slug, request.user)
        if not can_supervise(request.user, course):
            raise PermissionDenied("only supervisors of the course may do this")
        return view(request, course, *args, **kwargs)

    return wrapper


def admin_required(view: Any) -> Any:
    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not is_admin(request.user):
            raise PermissionDenied("only administrators may do this")
        return view(request, *args, **kwargs)

    return wrapper


@supervisor_required
def new_assignment(request: HttpRequest, course: Course) -> HttpResponse:
    form = PackageForm(*_bound(request))
    if request.method == "POST" and form.is_valid():
        slug = form.cleaned_data["slug"]
        if course.assignments.filter(slug=slug).exists():
            form.add_error("slug", f"An assignment named {slug!r} exists already.")
        else:
            try:
                with transaction.atomic():
                    a = Assignment.objects.create(course=course, slug=slug, title=slug)
                    services.add_version(
                        a,
                        form.cleaned_data["package"].read(),
                        request.user,
                        publish_when_valid=form.cleaned_data["publish"],
                    )
            except services.ServiceError as e:
                form.add_error("package", e.message)
            else:
                messages.success(
                    request, "Package uploaded; its reference solutions are being checked."
                )
                return redirect("web:manage_assignment", slug=course.slug, assignment_slug=slug)
    return render(
        request,
        "web/new_assignment.html",
        {"course": course, "form": form},
        status=400 if request.method == "POST" else 200,
    )


def _versions(a: Assignment) -> list[dict[str, Any]]:
    from assay.storer.api.users import version_docs

    return version_docs(list(a.versions.order_by("-number")))


@supervisor_required
def manage_assignment(request: HttpRequest, course: Course, assignment_slug: str) -> HttpResponse:
    a = assignment_or_404(course, assignment_slug, request.user)
    form = AssignmentSettingsForm(*_bound(request)[:1], instance=a, prefix="settings")
    if request.method == "POST" and form.is_valid():
        a = form.save(commit=False)
        a.set_by_staff(form.changed_data)  # no publish overwrites them now
        a.save()
        messages.success(request, "Settings saved.")
        return redirect("web:manage_assignment", slug=course.slug, assignment_slug=a.slug)
    versions = _versions(a)
    context = {
        "course": course, "a": a, "form": form, "version_form": VersionForm(), "versions": versions,
        "polling": any(v["state"] == "validating" for v in versions),
        "batch": request.GET.get("batch"), "in_teams": in_teams(a),
    }  # fmt: skip
    return render(
        request,
        "web/manage_assignment.html",
        context,
        status=400 if request.method == "POST" else 200,
    )


@supervisor_required
def versions_partial(request: HttpRequest, course: Course, assignment_slug: str) -> HttpResponse:
    a = assignment_or_404(course, assignment_slug, request.user)
    versions = _versions(a)
    return render(
        request,
        "web/partials/versions.html",
        {
            "course": course,
            "a": a,
            "versions": versions,
            "polling": any(v["state"] == "validating" for v in versions),
        },
    )


@supervisor_required
@require_POST
def upload_version(request: HttpRequest, course: Course, assignment_slug: str) -> HttpResponse:
    a = assignment_or_404(course, assignment_slug, request.user)
    form = VersionForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.add_version(
                a,
                form.cleaned_data["package"].read(),
                request.user,
                publish_when_valid=form.cleaned_data["publish"],
            )
            messages.success(
                request, "New version uploaded; its reference solutions are being checked."
            )
        except services.ServiceError as e:
            messages.error(request, f"The package was refused: {e.message}")
    else:
        messages.error(request, "Choose a package file (.zip).")
    return redirect("web:manage_assignment", slug=course.slug, assignment_slug=a.slug)


@supervisor_required
@require_POST
def publish_version(
    request: HttpRequest, course: Course, assignment_slug: str, number: int
) -> HttpResponse:
    a = assignment_or_404(course, assignment_slug, request.user)
    version = get_object_or_404(AssignmentVersion, assignment=a, number=number)
    try:
        services.publish(version)
        messages.success(request, f"Version {number} is published.")
    except services.ServiceError as e:
        messages.error(request, e.message)
    return redirect("web:manage_assignment", slug=course.slug, assignment_slug=a.slug)


@supervisor_required
@require_POST
def reevaluate_all(request: HttpRequest, course: Course, assignment_slug: str) -> HttpResponse:
    a = assignment_or_404(course, assignment_slug, request.user)
    if request.POST.get("confirm") != "yes":  # it queues an evaluation per submission: ask first
        context = {"course": course, "a": a, "count": batches.count(a)}
        return render(request, "web/confirm_reevaluate.html", context)
    shown = request.POST.get("count", "")  # the number the confirmation named
    try:
        batch = batches.reevaluate_all(
            a, request.user, int(shown) if shown.isascii() and shown.isdigit() else None
        )
    except batches.CountChanged as e:
        messages.error(request, f"The number of submissions changed to {e.count}: confirm again.")
        context = {"course": course, "a": a, "count": e.count}
        return render(request, "web/confirm_reevaluate.html", context, status=409)
    messages.success(request, f"Re-evaluating {batch.count} submission(s).")
    url = reverse("web:manage_assignment", kwargs={"slug": course.slug, "assignment_slug": a.slug})
    return redirect(f"{url}?batch={batch.id}#reevaluation")


@supervisor_required
def batch_progress(
    request: HttpRequest, course: Course, assignment_slug: str, batch: str
) -> HttpResponse:
    a = assignment_or_404(course, assignment_slug, request.user)
    jobs = Job.objects.filter(batch=batch, submission__assignment=a)
    total = jobs.count()
    finished = jobs.filter(state__in=Job.FINAL).count()
    failed = jobs.filter(state=Job.FAILED).count()
    return render(
        request, "web/partials/progress.html",
        {"course": course, "a": a, "batch": batch, "total": total, "finished": finished, "failed": failed, "polling": finished < total},
    )  # fmt: skip


@login_required
@require_POST
def reevaluate(request: HttpRequest, submission_id: int) -> HttpResponse:
    s = submission_or_404(submission_id, request.user)
    if not can_supervise(request.user, s.assignment.course):
        raise PermissionDenied("only supervisors may re-evaluate")
    with transaction.atomic():
        services.start_evaluation(s, request.user)
    messages.success(request, f"Re-evaluating submission {s.id}.")
    return redirect("web:submission", submission_id=s.id)


@supervisor_required
def course_submissions(request: HttpRequest, course: Course) -> HttpResponse:
    """The course's submissions, newest first, filtered in the database, 50 a page."""
    from assay.storer.api.users import submission_docs

    assignment = request.GET.get("assignment") or ""
    student = request.GET.get("student") or ""
    status = request.GET.get("status") or ""
    qs = Submission.objects.filter(assignment__course=course).select_related(
        "assignment__course", "author", "submitted_by"
    )
    if assignment:
        qs = qs.filter(assignment__slug=assignment)
    if student:
        qs = qs.filter(author__username=student)
    qs = lists.with_status(qs, status)
    paged = page_of(request, qs.order_by("-id"))
    shown = list(paged["page"])
    rows = [
        doc | {"assignment_title": s.assignment.title}
        for s, doc in zip(shown, submission_docs(shown, request.user), strict=True)
    ]
    students = (
        Membership.objects.filter(course=course)
        .order_by("user__username")
        .values_list("user__username", flat=True)
    )
    context = {
        "course": course, "rows": rows, "assignments": course.assignments.order_by("title"), "students": students,
        "statuses": lists.STATUSES,
        "selected": {"assignment": assignment, "student": student, "status": status},
        **paged,
    }  # fmt: skip
    return render(request, "web/course_submissions.html", context)


@admin_required
@require_POST
def retry(request: HttpRequest, job_id: int) -> HttpResponse:
    job = get_object_or_404(Job, pk=job_id)
    try:
        services.retry_failed(job, request.user)
        messages.success(request, f"Job {job.id} queued again.")
    except services.ServiceError as e:
        messages.error(request, e.message)
    return redirect("web:queue")
