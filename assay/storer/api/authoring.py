"""The REST API of the assignment editor: a draft per assignment (its package's files, in the
database), its statement, settings and limits, judge, tests and reference solutions; build it
into a new version (validated on a tester as an upload is) and download it. Supervisors of the
course (and administrators) only; the rules are drafts.py's (the package loader's)."""

from __future__ import annotations

from typing import Any, Literal

from django.http import HttpResponse
from ninja import Field, File, Form, Router, Schema, Status
from ninja.files import UploadedFile

from assay.storer.authoring import drafts
from assay.storer.authoring.models import Draft
from assay.storer.courses.models import Assignment
from assay.storer.markup import markdown_html

from .auth import USER_AUTH
from .errors import ApiError
from .schemas import Id, errors
from .users import get_assignment, get_course, require_supervisor, version_json

router = Router(auth=USER_AUTH, tags=["authoring"])


def _assignment(assignment_id: int, user: Any) -> Assignment:
    a = get_assignment(assignment_id, user)
    require_supervisor(user, a.course)
    return a


def _draft(assignment_id: int, user: Any) -> Draft:
    a = _assignment(assignment_id, user)
    draft = Draft.objects.filter(assignment=a).first()
    if draft is None:
        raise ApiError(
            404, "no_draft", f"assignment {assignment_id} has no draft: POST to its /draft first"
        )
    draft.assignment = a
    return draft


def draft_json(d: Draft) -> dict[str, Any]:
    files = drafts.paths(d)
    return {
        "assignment": d.assignment_id, "origin": d.origin, "created_at": d.created_at,
        "updated_at": d.updated_at, "built_version": d.built_version,
        "files": [{"path": p, "size": s} for p, s in files.items()],
    }  # fmt: skip


class TemplateOut(Schema):
    key: str
    label: str
    example: str


class NewDraft(Schema):
    slug: str = Field(..., pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=50)
    title: str = Field(..., min_length=1, max_length=200)
    template: str = Field(..., max_length=50, description="a key of GET /authoring/templates")


class StartDraft(Schema):
    template: str | None = Field(
        None, max_length=50, description="omit: a draft of the current version (native only)"
    )


class StatementIn(Schema):
    statement: str = Field(..., max_length=drafts.MAX_STATEMENT_CHARS, description="Markdown")


class SettingsIn(Schema):
    """Only the keys sent change; null sets the format's default (for a limit) or none."""

    title: str | None = Field(None, min_length=1, max_length=200)
    runtime: str | None = Field(None, max_length=50)
    points: float | None = Field(None, ge=0, le=1e9, allow_inf_nan=False)
    evaluation: Literal["immediate", "on_demand"] | None = None
    time_s: float | None = Field(None, allow_inf_nan=False)
    wall_time_s: float | None = Field(None, allow_inf_nan=False)
    memory_mib: int | None = None
    output_kib: int | None = None


class GroupIn(Schema):
    name: str = Field(..., max_length=200)
    points: float | None = Field(None, ge=0, le=1e9, allow_inf_nan=False)
    scoring: Literal["proportional", "all"] | None = None


class GroupsIn(Schema):
    groups: list[GroupIn] = Field(..., max_length=100)


class JudgeIn(Schema):
    type: str = Field(..., description=", ".join(drafts.JUDGE_TYPES))
    abs_tol: float | None = Field(None, ge=0, allow_inf_nan=False)
    rel_tol: float | None = Field(None, ge=0, allow_inf_nan=False)
    checker: str | None = Field(None, description=", ".join(drafts.CHECKER_NAMES))
    checker_source: str | None = Field(None, max_length=1_000_000)


class TestIn(Schema):
    input: str | None = Field(None, description="text; omit to keep the current input")
    output: str | None = Field(None, description="text; omit to keep the expected output")
    visible: bool | None = Field(None, strict=True)


class SolutionIn(Schema):
    verdict: str = Field(..., description="the expected verdict: accepted, wrong_answer, …")
    name: str = Field(..., max_length=200, description="the file's name, e.g. sum.c")
    content: str = Field(..., description="the source, as text")


class BuildIn(Schema):
    publish: bool = Field(True, strict=True)


D = "/assignments/{assignment_id}/draft"


@router.get("/authoring/templates", response={200: list[TemplateOut], **errors(401)}, summary="The templates a new assignment starts from")  # fmt: skip
def templates(request):
    return [
        {"key": t.key, "label": t.label, "example": t.example} for t in drafts.TEMPLATES.values()
    ]


@router.post("/courses/{slug}/drafts", response={201: dict, **errors(400, 401, 403, 404, 409)}, summary="A new, unpublished assignment whose package is a draft from a template")  # fmt: skip
def create(request, slug: str, body: NewDraft):
    course = get_course(slug, request.auth)
    require_supervisor(request.auth, course)
    d = drafts.create_assignment(course, body.slug, body.template, request.auth, body.title)
    return Status(201, draft_json(d))


@router.post(D, response={201: dict, **errors(400, 401, 403, 404, 409)}, summary="Start (or restart) the draft: from the current version, or from a template")  # fmt: skip
def start(request, assignment_id: Id, body: StartDraft):
    a = _assignment(assignment_id, request.auth)
    if body.template:
        d = drafts.start_from_template(a, body.template, request.auth)
    else:
        d = drafts.start_from_version(a, request.auth)
    return Status(201, draft_json(d))


@router.get(
    D, response={200: dict, **errors(400, 401, 403, 404)}, summary="The draft and its files"
)
def detail(request, assignment_id: Id):
    return draft_json(_draft(assignment_id, request.auth))


@router.delete(D, response={204: None, **errors(400, 401, 403, 404)}, summary="Discard the draft")
def discard(request, assignment_id: Id):
    _draft(assignment_id, request.auth).delete()
    return Status(204, None)


@router.get(f"{D}/statement", response={200: dict, **errors(400, 401, 403, 404)}, summary="The statement (Markdown)")  # fmt: skip
def get_statement(request, assignment_id: Id):
    return {"statement": drafts.statement(_draft(assignment_id, request.auth))}


@router.put(f"{D}/statement", response={200: dict, **errors(400, 401, 403, 404)}, summary="Replace the statement")  # fmt: skip
def put_statement(request, assignment_id: Id, body: StatementIn):
    d = _draft(assignment_id, request.auth)
    drafts.save_statement(d, body.statement)
    return {"statement": drafts.statement(d)}


class PreviewOut(Schema):
    html: str = Field(description="the statement as the assignment page shows it (sanitised)")


@router.post(f"{D}/statement/preview", response={200: PreviewOut, **errors(400, 401, 403, 404)}, summary="The statement (Markdown, not saved) as HTML, sanitised as the pages show it")  # fmt: skip
def preview_statement(request, assignment_id: Id, body: StatementIn):
    _draft(assignment_id, request.auth)
    return {"html": markdown_html(body.statement)}


@router.get(f"{D}/settings", response={200: dict, **errors(400, 401, 403, 404)}, summary="Title, language, points, evaluation and limits")  # fmt: skip
def get_settings(request, assignment_id: Id):
    return drafts.settings_of(_draft(assignment_id, request.auth))


@router.put(f"{D}/settings", response={200: dict, **errors(400, 401, 403, 404)}, summary="Change settings and limits (the keys sent)")  # fmt: skip
def put_settings(request, assignment_id: Id, body: SettingsIn):
    d = _draft(assignment_id, request.auth)
    drafts.save_settings(d, {k: getattr(body, k) for k in body.model_fields_set})
    return drafts.settings_of(d)


@router.put(f"{D}/groups", response={200: dict, **errors(400, 401, 403, 404)}, summary="Change the points and scoring of the package's test groups")  # fmt: skip
def put_groups(request, assignment_id: Id, body: GroupsIn):
    d = _draft(assignment_id, request.auth)
    drafts.save_groups(d, [g.model_dump() for g in body.groups])
    return drafts.settings_of(d)


@router.get(f"{D}/judge", response={200: dict, **errors(400, 401, 403, 404)}, summary="How outputs are judged")  # fmt: skip
def get_judge(request, assignment_id: Id):
    return drafts.judge_of(_draft(assignment_id, request.auth))


@router.put(f"{D}/judge", response={200: dict, **errors(400, 401, 403, 404, 413)}, summary="Choose the judge (and write a custom checker)")  # fmt: skip
def put_judge(request, assignment_id: Id, body: JudgeIn):
    d = _draft(assignment_id, request.auth)
    drafts.save_judge(
        d, body.type, abs_tol=body.abs_tol, rel_tol=body.rel_tol, checker=body.checker,
        checker_source=body.checker_source,
    )  # fmt: skip
    return drafts.judge_of(d)


@router.get(f"{D}/tests", response={200: dict, **errors(400, 401, 403, 404)}, summary="The tests as the loader will see them")  # fmt: skip
def list_tests(request, assignment_id: Id):
    rows, problem = drafts.tests_of(_draft(assignment_id, request.auth))
    return {"tests": rows, "problem": problem}


@router.get(f"{D}/tests/{{name}}", response={200: dict, **errors(400, 401, 403, 404)}, summary="One test, with its input and output as text (null: too large or binary)")  # fmt: skip
def get_test(request, assignment_id: Id, name: str):
    return drafts.test_detail(_draft(assignment_id, request.auth), name)


@router.put(f"{D}/tests/{{name}}", response={200: dict, 201: dict, **errors(400, 401, 403, 404, 413)}, summary="Add or change a test")  # fmt: skip
def put_test(request, assignment_id: Id, name: str, body: TestIn):
    d = _draft(assignment_id, request.auth)
    name = drafts.test_name(name)
    new = name not in {r["name"] for r in drafts.tests_of(d)[0]}
    drafts.put_test(
        d, name, input=None if body.input is None else body.input.encode(),
        output=None if body.output is None else body.output.encode(), visible=body.visible, new=new,
    )  # fmt: skip
    return Status(201 if new else 200, drafts.test_detail(d, name))


@router.delete(f"{D}/tests/{{name}}", response={204: None, **errors(400, 401, 403, 404)}, summary="Delete a test")  # fmt: skip
def delete_test(request, assignment_id: Id, name: str):
    drafts.delete_test(_draft(assignment_id, request.auth), name)
    return Status(204, None)


@router.post(f"{D}/tests.zip", response={200: dict, **errors(400, 401, 403, 404, 413)}, summary="Add or replace tests from a zip of NAME.in + NAME.out pairs or NAME/ folders")  # fmt: skip
def upload_tests(request, assignment_id: Id, visible: Form[bool] = False, tests_zip: UploadedFile = File(...)):  # fmt: skip
    d = _draft(assignment_id, request.auth)
    if tests_zip.size and tests_zip.size > drafts.MAX_FILE_BYTES * 4:
        raise ApiError(413, "upload_too_large", f"the zip has {tests_zip.size} bytes; at most {drafts.MAX_FILE_BYTES * 4}", "tests_zip")  # fmt: skip
    return {"tests": drafts.tests_from_zip(d, tests_zip.read(), visible)}


@router.get(f"{D}/solutions", response={200: list[dict], **errors(400, 401, 403, 404)}, summary="The reference solutions")  # fmt: skip
def list_solutions(request, assignment_id: Id):
    return drafts.solutions_of(_draft(assignment_id, request.auth))


@router.put(f"{D}/solutions", response={201: dict, **errors(400, 401, 403, 404, 413)}, summary="Add or replace a single-file reference solution")  # fmt: skip
def put_solution(request, assignment_id: Id, body: SolutionIn):
    d = _draft(assignment_id, request.auth)
    path = drafts.put_solution(d, body.verdict, {body.name: body.content.encode()})
    return Status(201, {"path": path})


@router.delete(f"{D}/solutions/{{path:path}}", response={204: None, **errors(400, 401, 403, 404)}, summary="Delete a reference solution (its path, e.g. solutions/accepted/sum.c)")  # fmt: skip
def delete_solution(request, assignment_id: Id, path: str):
    drafts.delete_solution(_draft(assignment_id, request.auth), path)
    return Status(204, None)


@router.post(f"{D}/build", response={201: dict, **errors(400, 401, 403, 404, 413)}, summary="Build a new version: checked now, validated on a tester, published when valid")  # fmt: skip
def build(request, assignment_id: Id, body: BuildIn):
    d = _draft(assignment_id, request.auth)
    return Status(201, version_json(drafts.build(d, request.auth, body.publish)))


@router.get(
    f"{D}/package", response={200: None, **errors(400, 401, 403, 404)}, summary="The draft as a package zip",
    openapi_extra={"responses": {200: {"description": "the package", "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}}}}},
)  # fmt: skip
def package(request, assignment_id: Id):
    d = _draft(assignment_id, request.auth)
    response = HttpResponse(drafts.package_zip(d), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{d.assignment.slug}.zip"'
    return response
