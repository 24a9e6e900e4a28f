"""The editor's pages, for supervisors: a new assignment from a template; a draft's statement
(with a preview rendered as the assignment page renders it), settings and limits, tests, judge
and reference solutions; build (a new version, validated on a tester as an upload is) and
download the package."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST

from assay.storer.courses.models import Assignment, Course
from assay.storer.evaluation.services import ServiceError
from assay.storer.uploads import (
    PACKAGE,
    LimitingUploadHandler,
    UploadTooLarge,
    content_length,
    too_large_response,
)
from assay.storer.web.staff import supervisor_required
from assay.storer.web.views import _bound, assignment_or_404

from . import drafts
from .forms import (
    BuildForm,
    GroupsForm,
    JudgeForm,
    NewForm,
    SettingsForm,
    SolutionForm,
    StatementForm,
    TestForm,
    TestsZipForm,
    show_error,
)
from .models import Draft

TABS = [
    ("statement", "Statement"), ("settings", "Settings and limits"), ("tests", "Tests"),
    ("judge", "Judge"), ("solutions", "Reference solutions"), ("package", "Build and download"),
]  # fmt: skip


def limited_upload(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A page that takes files: its body is limited as a package upload is (uploads.py), before
    it is read — the upload handler is in place before the CSRF check reads the form."""

    @csrf_exempt
    @wraps(view)
    def outer(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        limit = settings.MAX_PACKAGE_BYTES
        if request.method == "POST":
            size = content_length(request)
            if size is not None and size > limit:
                return too_large_response(request, UploadTooLarge(PACKAGE, "file", limit, size))
            request.upload_handlers.insert(
                0, LimitingUploadHandler(request, PACKAGE, "file", limit)
            )
        try:
            return csrf_protect(view)(request, *args, **kwargs)
        except UploadTooLarge as e:
            return too_large_response(request, e)

    return outer


def _url(name: str, a: Assignment, **kwargs: Any) -> str:
    return reverse(
        f"web:{name}", kwargs={"slug": a.course.slug, "assignment_slug": a.slug, **kwargs}
    )


def with_draft(tab: str) -> Callable[..., Any]:
    """A page of the draft: supervisors only; without a draft, to the page that starts one."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @supervisor_required
        @wraps(view)
        def wrapper(
            request: HttpRequest, course: Course, assignment_slug: str, *args: Any, **kwargs: Any
        ) -> HttpResponse:
            a = assignment_or_404(course, assignment_slug, request.user)
            draft = Draft.objects.filter(assignment=a).first()
            if draft is None:
                return redirect(_url("authoring_start", a))
            draft.assignment = a
            return view(request, course, a, draft, *args, **kwargs)

        return wrapper

    return decorate


def page(request: HttpRequest, template: str, tab: str, a: Assignment, draft: Draft | None, status: int = 200, **context: Any) -> HttpResponse:  # fmt: skip
    tabs = [
        {"key": k, "label": label, "url": _url(f"authoring_{k}", a), "current": k == tab}
        for k, label in TABS
    ]
    return render(
        request, template,
        {"course": a.course, "a": a, "draft": draft, "tabs": tabs, "tab": tab, **context},
        status=status,
    )  # fmt: skip


# -- a new assignment, a draft started ------------------------------------------------------


@supervisor_required
def new(request: HttpRequest, course: Course) -> HttpResponse:
    form = NewForm(*_bound(request)[:1])
    if request.method == "POST" and form.is_valid():
        try:
            d = drafts.create_assignment(
                course, form.cleaned_data["slug"], form.cleaned_data["template"], request.user,
                form.cleaned_data["title"],
            )  # fmt: skip
        except ServiceError as e:
            show_error(form, e)
        else:
            messages.success(
                request, "The assignment is a draft now: change what you need, then build it."
            )
            return redirect(_url("authoring_statement", d.assignment))
    return render(
        request, "authoring/new.html",
        {"course": course, "form": form, "templates": drafts.TEMPLATES.values()},
        status=400 if request.method == "POST" else 200,
    )  # fmt: skip


@supervisor_required
def start(request: HttpRequest, course: Course, assignment_slug: str) -> HttpResponse:
    a = assignment_or_404(course, assignment_slug, request.user)
    draft = Draft.objects.filter(assignment=a).first()
    version = a.current_version or a.versions.order_by("-number").first()
    form = NewForm(initial={"template": "tokens"})
    if request.method == "POST":
        try:
            template = request.POST.get("template")
            if template:
                drafts.start_from_template(a, template, request.user)
            else:
                drafts.start_from_version(a, request.user)
        except ServiceError as e:
            messages.error(request, e.message)
        else:
            return redirect(_url("authoring_statement", a))
    return page(
        request, "authoring/start.html", "package", a, draft,
        version=version, template_field=form["template"],
    )  # fmt: skip


# -- the draft's pages ----------------------------------------------------------------------


@with_draft("statement")
def statement(request: HttpRequest, course: Course, a: Assignment, draft: Draft) -> HttpResponse:
    form = StatementForm(*_bound(request)[:1], initial={"statement": drafts.statement(draft)})
    preview = None
    if request.method == "POST" and form.is_valid():
        text = form.cleaned_data["statement"]
        if "preview" in request.POST:
            preview = text
        else:
            try:
                drafts.save_statement(draft, text)
            except ServiceError as e:
                show_error(form, e)
            else:
                messages.success(request, "Statement saved.")
                return redirect(_url("authoring_statement", a))
    if preview is None:
        preview = form.data.get("statement") if form.is_bound else drafts.statement(draft)
    return page(request, "authoring/statement.html", "statement", a, draft, form=form, preview=preview or "",
                status=400 if form.errors else 200)  # fmt: skip


@supervisor_required
@require_POST
def preview(request: HttpRequest, course: Course, assignment_slug: str) -> HttpResponse:
    assignment_or_404(course, assignment_slug, request.user)
    text = request.POST.get("statement", "")[: drafts.MAX_STATEMENT_CHARS]
    return render(request, "authoring/partials/preview.html", {"preview": text})


@with_draft("settings")
def settings_page(
    request: HttpRequest, course: Course, a: Assignment, draft: Draft
) -> HttpResponse:
    current = drafts.settings_of(draft)
    groups = current.pop("groups")
    posted = request.method == "POST"
    posted_groups = posted and "groups-points_0" in request.POST
    form = SettingsForm(
        request.POST if posted and not posted_groups else None, groups=bool(groups),
        initial={**current, "runtime": current["runtime"] or "",
                 "points": sum(g["points"] for g in groups) if groups else current["points"]},
    )  # fmt: skip
    group_form = GroupsForm(request.POST if posted_groups else None, groups=groups, prefix="groups")
    if posted_groups and group_form.is_valid():
        try:
            drafts.save_groups(draft, group_form.changes())
        except ServiceError as e:
            show_error(group_form, e, group_form.aliases())
        else:
            messages.success(request, "Test groups saved.")
            return redirect(_url("authoring_settings", a))
    elif posted and not posted_groups and form.is_valid():
        values = {k: v for k, v in form.cleaned_data.items() if not (k == "points" and groups)}
        try:
            drafts.save_settings(draft, values)
        except ServiceError as e:
            show_error(form, e)
        else:
            messages.success(request, "Settings saved.")
            return redirect(_url("authoring_settings", a))
    bad = bool(form.errors or group_form.errors)
    return page(request, "authoring/settings.html", "settings", a, draft, form=form, groups=groups,
                group_form=group_form, status=400 if bad else 200)  # fmt: skip


def _content(form: TestForm, key: str, editable: bool) -> bytes | None:
    """A test file from the form: an upload wins; else the text area's text, when the file
    was shown in one (a large or binary file is only replaced by an upload)."""
    upload = form.cleaned_data.get(f"{key}_file")
    if upload is not None:
        if upload.size > drafts.MAX_FILE_BYTES:
            raise drafts.refuse(
                f"{upload.size} bytes; a file of an assignment may have at most {drafts.MAX_FILE_BYTES}",
                key, 413, "file_too_large",
            )  # fmt: skip
        return upload.read()
    if not editable:
        return None
    return (form.cleaned_data.get(key) or "").replace("\r\n", "\n").encode()


@limited_upload
@with_draft("tests")
def tests(request: HttpRequest, course: Course, a: Assignment, draft: Draft) -> HttpResponse:
    add = TestForm(prefix="add")
    upload = TestsZipForm(prefix="zip")
    if request.method == "POST":
        try:
            if "zip-tests_zip" in request.FILES:
                upload = TestsZipForm(request.POST, request.FILES, prefix="zip")
                if upload.is_valid():
                    names = drafts.tests_from_zip(
                        draft,
                        upload.cleaned_data["tests_zip"].read(),
                        upload.cleaned_data["visible"],
                    )
                    messages.success(
                        request, f"Added or replaced {len(names)} test(s): {', '.join(names)}."
                    )
                    return redirect(_url("authoring_tests", a))
            elif "visible" in request.POST:
                name = request.POST.get("name", "")
                drafts.set_visible(draft, drafts.test_name(name), request.POST["visible"] == "1")
                return redirect(_url("authoring_tests", a) + f"#test-{name}")
            else:
                add = TestForm(request.POST, request.FILES, prefix="add")
                if add.is_valid():
                    drafts.put_test(
                        draft, add.cleaned_data["name"], input=_content(add, "input", True),
                        output=_content(add, "output", True), visible=add.cleaned_data["visible"], new=True,
                    )  # fmt: skip
                    messages.success(request, f"Test {add.cleaned_data['name']} added.")
                    return redirect(_url("authoring_tests", a))
        except ServiceError as e:
            if "zip-tests_zip" in request.FILES:
                show_error(upload, e)
            elif "visible" in request.POST:
                messages.error(request, e.message)
            else:
                show_error(add, e)
    rows, problem = drafts.tests_of(draft)
    bad = bool(add.errors or upload.errors)
    return page(request, "authoring/tests.html", "tests", a, draft, rows=rows, problem=problem,
                add=add, upload=upload, status=400 if bad else 200)  # fmt: skip


@limited_upload
@with_draft("tests")
def test(
    request: HttpRequest, course: Course, a: Assignment, draft: Draft, name: str
) -> HttpResponse:
    try:
        row = drafts.test_detail(draft, name)
    except ServiceError as e:
        raise Http404(e.message) from e
    initial = {
        "name": name,
        "visible": row["visible"],
        "input": row["input"],
        "output": row["output"],
    }
    form = TestForm(*_bound(request), initial=initial, editing=True)
    if request.method == "POST" and form.is_valid():
        try:
            drafts.put_test(
                draft, name, input=_content(form, "input", row["input"] is not None),
                output=_content(form, "output", row["output"] is not None),
                visible=form.cleaned_data["visible"],
            )  # fmt: skip
        except ServiceError as e:
            show_error(form, e)
        else:
            messages.success(request, f"Test {name} saved.")
            return redirect(_url("authoring_tests", a))
    return page(request, "authoring/test.html", "tests", a, draft, form=form, row=row,
                status=400 if form.errors else 200)  # fmt: skip


@with_draft("tests")
@require_POST
def delete_test(
    request: HttpRequest, course: Course, a: Assignment, draft: Draft, name: str
) -> HttpResponse:
    try:
        drafts.delete_test(draft, name)
        messages.success(request, f"Test {name} deleted.")
    except ServiceError as e:
        messages.error(request, e.message)
    return redirect(_url("authoring_tests", a))


@with_draft("judge")
def judge(request: HttpRequest, course: Course, a: Assignment, draft: Draft) -> HttpResponse:
    current = drafts.judge_of(draft)
    form = JudgeForm(
        *_bound(request)[:1], initial={**current, "checker": current["checker"] or "checker.py"}
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            drafts.save_judge(
                draft, data["type"], abs_tol=data["abs_tol"], rel_tol=data["rel_tol"],
                checker=data["checker"] or None, checker_source=data["checker_source"],
            )  # fmt: skip
        except ServiceError as e:
            show_error(form, e)
        else:
            messages.success(request, "Judge saved.")
            return redirect(_url("authoring_judge", a))
    return page(request, "authoring/judge.html", "judge", a, draft, form=form,
                status=400 if form.errors else 200)  # fmt: skip


@limited_upload
@with_draft("solutions")
def solutions(request: HttpRequest, course: Course, a: Assignment, draft: Draft) -> HttpResponse:
    form = SolutionForm(*_bound(request))
    if request.method == "POST" and "delete" in request.POST:
        try:
            drafts.delete_solution(draft, request.POST["delete"])
            messages.success(request, "Reference solution deleted.")
        except ServiceError as e:
            messages.error(request, e.message)
        return redirect(_url("authoring_solutions", a))
    if request.method == "POST" and form.is_valid():
        try:
            uploads = form.cleaned_data["files"]
            for f in uploads:
                if f.size > drafts.MAX_FILE_BYTES:
                    raise drafts.refuse(
                        f"{f.name}: {f.size} bytes; at most {drafts.MAX_FILE_BYTES}", "file", 413
                    )
            path = drafts.put_solution(
                draft, form.cleaned_data["verdict"], {f.name: f.read() for f in uploads},
                form.cleaned_data["folder"] or None,
            )  # fmt: skip
        except ServiceError as e:
            show_error(form, e, {"file": "files"})
        else:
            messages.success(
                request, f"Reference solution {path.removeprefix('solutions/')} added."
            )
            return redirect(_url("authoring_solutions", a))
    return page(request, "authoring/solutions.html", "solutions", a, draft, form=form,
                rows=drafts.solutions_of(draft), status=400 if form.errors else 200)  # fmt: skip


@with_draft("package")
def package(request: HttpRequest, course: Course, a: Assignment, draft: Draft) -> HttpResponse:
    form = BuildForm(*_bound(request)[:1])
    if request.method == "POST" and form.is_valid():
        try:
            version = drafts.build(draft, request.user, form.cleaned_data["publish"])
        except ServiceError as e:
            form.add_error(None, f"The package was refused: {e.message}")
        else:
            messages.success(
                request,
                f"Version {version.number} built; its reference solutions are being checked.",
            )
            return redirect(_url("manage_assignment", a) + "#versions-h")
    files = drafts.paths(draft)
    return page(request, "authoring/package.html", "package", a, draft, form=form,
                files=len(files), size=sum(files.values()), status=400 if form.errors else 200)  # fmt: skip


@with_draft("package")
def download(request: HttpRequest, course: Course, a: Assignment, draft: Draft) -> HttpResponse:
    response = HttpResponse(drafts.package_zip(draft), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{a.slug}.zip"'
    return response
