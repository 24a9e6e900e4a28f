"""Pages for everyone: log in, courses, an assignment with its upload form, submissions with
their results updating live (htmx polling that stops once every shown evaluation is final)."""

from __future__ import annotations

import difflib
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from assay.package.samples import read_interaction
from assay.storer.api.users import follow, submission_doc, submission_docs, versioned
from assay.storer.courses import rules
from assay.storer.courses.models import Assignment, Course, Membership
from assay.storer.courses.permissions import can_supervise, can_view, visible_courses
from assay.storer.evaluation import queries, services
from assay.storer.evaluation.grades import course_grades
from assay.storer.evaluation.models import Job, Submission
from assay.storer.evaluation.visibility import shows_files
from assay.storer.groups.services import groups_of, may_read, shared_or_own, shares_of

from .forms import SubmitForm
from .paging import page_of
from .timezones import use_course_time_zone

FINAL = ("done", "failed", "not_evaluated")


def _bound(request: HttpRequest) -> tuple[Any, Any]:
    """Form data when the request is a POST (an empty POST still binds, and shows its errors)."""
    return (request.POST, request.FILES) if request.method == "POST" else (None, None)


def course_or_404(slug: str, user: Any) -> Course:
    course = get_object_or_404(Course, slug=slug)
    if not can_view(user, course):
        raise Http404("no such course")
    use_course_time_zone(course)
    return course


def assignment_or_404(course: Course, slug: str, user: Any) -> Assignment:
    a = get_object_or_404(
        Assignment.objects.select_related("course", "current_version"), course=course, slug=slug
    )
    if not a.released() and not can_supervise(user, course):  # unpublished, or not yet released
        raise Http404("no such assignment")
    return a


def submission_or_404(submission_id: int, user: Any) -> Submission:
    s = queries.submission(submission_id)
    if s is None or not may_read(user, s):
        raise Http404("no such submission")
    use_course_time_zone(s.assignment.course)
    return s


def _user_id(request: HttpRequest) -> int:
    """The logged-in user's id (in the views that require a login)."""
    pk = request.user.pk
    assert request.user.is_authenticated and pk is not None
    return int(pk)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    roles = dict(
        Membership.objects.filter(user_id=_user_id(request)).values_list("course_id", "role")
    )  # one query for every course, not one per course
    courses = [
        {"course": c, "role": roles.get(c.id) or "administrator"}
        for c in visible_courses(request.user).order_by("title")
    ]
    return render(request, "web/home.html", {"courses": courses})


@login_required
def course(request: HttpRequest, slug: str) -> HttpResponse:
    c = course_or_404(slug, request.user)
    supervisor = can_supervise(request.user, c)
    qs = c.assignments.select_related("current_version").order_by("deadline", "id")
    if not supervisor:  # students: what is released and not archived
        qs = qs.filter(current_version__isnull=False, archived=False).exclude(
            release_at__gt=timezone.now()
        )
    mine = course_grades(c, student_ids=[_user_id(request)])
    extended = rules.extensions([a.id for a in qs], [_user_id(request)])
    rows = [
        {
            "a": a,
            "grade": mine.get((_user_id(request), a.id)),
            "due": rules.deadlines(a, extended.get((_user_id(request), a.id))),
        }
        for a in qs
    ]
    context = {
        "course": c, "rows": rows, "supervisor": supervisor, "now": timezone.now(),
        "my_groups": [
            {"g": g, "others": [u.username for u in g.members.all() if u.pk != _user_id(request)]}
            for g in groups_of(_user_id(request), c)
        ],
    }  # fmt: skip
    return render(request, "web/course.html", context)


def _students(course: Course) -> list[str]:
    return list(
        Membership.objects.filter(course=course, role=Membership.STUDENT)
        .order_by("user__username")
        .values_list("user__username", flat=True)
    )


def _submission_rows(request: HttpRequest, a: Assignment, supervisor: bool) -> dict[str, Any]:
    """The page of one's submissions ``?page=`` asks for, newest first, 50 a page (``rows``, with
    the page links' context); a supervisor's list has the ones they cross-submitted as well."""
    mine = shared_or_own(_user_id(request))
    if supervisor:
        mine |= Q(submitted_by_id=_user_id(request))
    qs = a.submissions.filter(mine).select_related("author", "submitted_by", "assignment__course")
    paged = page_of(request, qs.order_by("-created_at", "-id"))
    # the documents carry the queue position, estimated wait and "no tester" already
    rows = submission_docs(list(paged["page"]), request.user)
    return {**paged, "rows": rows, "polling": any(r["status"] not in FINAL for r in rows)}


@login_required
def assignment(request: HttpRequest, slug: str, assignment_slug: str) -> HttpResponse:
    c = course_or_404(slug, request.user)
    a = assignment_or_404(c, assignment_slug, request.user)
    supervisor = can_supervise(request.user, c)
    form = SubmitForm(*_bound(request), students=_students(c) if supervisor else None, assignment=a)
    if request.method == "POST" and form.is_valid():
        submission = _submit(request, a, form)
        if submission is not None:
            messages.success(request, _received(submission))
            return redirect("web:assignment", slug=c.slug, assignment_slug=a.slug)
    due = rules.student_deadlines(a, _user_id(request))
    used = a.submissions.filter(author_id=_user_id(request), submitted_by_id=_user_id(request))
    context = {
        "course": c, "a": a, "form": form, "supervisor": supervisor,
        **_submission_rows(request, a, supervisor),
        "limits": a.current_version.meta.get("limits") if a.current_version else None,
        "deadline_passed": due.closed(), "due": due, "now": timezone.now(),
        "used": used.count() if a.max_submissions else None,
        "samples": a.current_version.meta.get("samples", []) if a.current_version else [],
    }  # fmt: skip
    return render(
        request, "web/assignment.html", context, status=400 if request.method == "POST" else 200
    )


def _received(s: Submission) -> str:
    """The message after a submit: a link to the submission, and whom it is for."""
    url = reverse("web:submission", args=[s.id])
    if s.cross_submitted:
        return format_html(
            '<a href="{}">Submission {}</a> received, for {}.', url, s.id, s.author.username
        )
    return format_html('<a href="{}">Submission {}</a> received.', url, s.id)


def _submit(request: HttpRequest, a: Assignment, form: SubmitForm) -> Submission | None:
    """Store the upload through the same service as the API; refusals become form errors."""
    try:
        author = services.submission_author(a, request.user, form.cleaned_data.get("for_user"))
        uploads = form.cleaned_data["files"]
        if len(uploads) == 1 and uploads[0].name.lower().endswith(".zip"):
            files = services.files_from_zip(uploads[0].read())
        else:
            files = services.files_from_uploads(uploads)
        language = form.cleaned_data.get("language") or None  # None: the extensions tell
        return services.create_submission(a, author, request.user, files, language=language)
    except services.ServiceError as e:
        if e.code == "forbidden":
            raise PermissionDenied(e.message) from e
        field = (
            "files"
            if e.field in ("files", "archive")
            else e.field
            if e.field in form.fields
            else None
        )
        form.add_error(field, e.message)
    return None


@login_required
def submissions_partial(request: HttpRequest, slug: str, assignment_slug: str) -> HttpResponse:
    """The live list of one's submissions (htmx): the page the assignment page shows."""
    c = course_or_404(slug, request.user)
    a = assignment_or_404(c, assignment_slug, request.user)
    supervisor = can_supervise(request.user, c)
    context = {
        "course": c, "a": a, "supervisor": supervisor, **_submission_rows(request, a, supervisor),
    }  # fmt: skip
    return render(request, "web/partials/submission_rows.html", context)


JUDGED = ("WA", "PA")  # the verdicts of an output that was compared with the expected one


def _details(s: Submission, doc: dict[str, Any], job: Job | None, user: Any) -> None:
    """Input, expected and actual output, for tests the user may see in full (hidden tests never
    leave the storer); ``job`` is the one ``doc`` shows. The difference between the outputs only
    where the built-in judge compared them and found them different: not for a run that was
    stopped or crashed (its output is cut short) nor where a checker judged (its message says
    what is wrong; a difference would mislead where many outputs are right)."""
    if job is None or job.state != Job.DONE:
        return
    staff = can_supervise(user, s.assignment.course)
    shown = [
        t
        for t in doc["tests"]
        if "cpu_time_s" in t and shows_files(s.assignment, t["visible"], staff)
    ]
    if not shown:
        return
    version = queries.version(job.version_id)
    assert version is not None  # a version with jobs is never deleted
    outputs = services.read_result_files(
        job, [f"{t['name']}/run_stdout.vmr" for t in shown if t["verdict"] != "SKIP"], 16384
    )
    with services.load_version(version) as pkg:
        checker = pkg.judge.custom
        for t in shown:
            try:
                case = pkg.test(t["name"])
            except KeyError:
                continue
            if case.interaction is not None:  # an interactive sample: show its exchange
                t["input"] = ""
                t["interaction"] = read_interaction(case.interaction, 16384)
                continue
            expected = case.answer.read_bytes()[:16384].decode(errors="replace")
            t["input"] = case.input.read_bytes()[:16384].decode(errors="replace")
            t["expected"] = expected
            t["checker"] = checker  # the expected output is one right answer of many
            if checker and t["verdict"] != "AC":
                t["checker_message"] = t.get("judge_message") or t.get("student_message") or ""
            if t["verdict"] == "SKIP":
                continue  # not run: no output
            actual = (outputs.get(f"{t['name']}/run_stdout.vmr") or b"").decode(errors="replace")
            t["actual"] = actual
            if t["verdict"] in JUDGED and not checker:
                t["diff"] = list(
                    difflib.unified_diff(
                        expected.splitlines(),
                        actual.splitlines(),
                        "expected",
                        "your output",
                        lineterm="",
                        n=2,
                    )
                )[:200]


@login_required
def submission(request: HttpRequest, submission_id: int) -> HttpResponse:
    s = submission_or_404(submission_id, request.user)
    context = {**_submission_context(request, s), "shared_with": shares_of(s.id)}
    return render(request, "web/submission.html", context)


LONG_POLL_S = 20.0  # how long the page's poll waits for a change before a 204


@login_required
def submission_partial(request: HttpRequest, submission_id: int) -> HttpResponse:
    """The submission's live part (htmx, every second). The page names the ``version`` it
    shows (``since``): the answer waits for a change like the API's long polling, and is a 204
    (htmx swaps nothing, and polls again) when there is none."""
    s = submission_or_404(submission_id, request.user)
    since = request.GET.get("since", "")[:64]
    shown: dict[str, Any] = {}

    def read() -> dict[str, Any]:
        doc, shown["job"] = submission_doc(s, request.user)
        return versioned(doc)

    if since:
        doc = follow(s.id, since, LONG_POLL_S, read)
        if doc["version"] == since:
            return HttpResponse(status=204)
        context = _submission_context(request, s, doc, shown["job"])
    else:
        context = _submission_context(request, s)
    return render(request, "web/partials/submission_body.html", context)


def _submission_context(
    request: HttpRequest, s: Submission, doc: dict[str, Any] | None = None, job: Job | None = None
) -> dict[str, Any]:
    """The page's context; ``doc`` (with the ``job`` it shows) when the caller has it."""
    if doc is None:
        found, job = submission_doc(s, request.user)
        doc = versioned(found)
    _details(s, doc, job, request.user)
    supervisor = can_supervise(request.user, s.assignment.course)
    return {
        "s": s, "doc": doc, "course": s.assignment.course, "a": s.assignment, "supervisor": supervisor,
        "polling": doc["status"] not in FINAL,
        "can_evaluate": doc["status"] == "not_evaluated",
    }  # fmt: skip


@login_required
@require_POST
def evaluate(request: HttpRequest, submission_id: int) -> HttpResponse:
    """Start an on-demand evaluation (the author, or a supervisor)."""
    s = submission_or_404(submission_id, request.user)
    try:
        services.evaluate_on_demand(s, request.user)
        messages.success(request, f"Evaluation of submission {s.id} started.")
    except services.ServiceError as e:
        messages.error(request, e.message)
    return redirect("web:submission", submission_id=s.id)
