"""The editor's pages (assay/storer/authoring/views.py) with Django's test client: who may use
them, and that each form lands its change in the draft or says which field is wrong.

- Teacher supervises prog1 and uses the editor.
- Alice is a student of prog1: every editor page is forbidden to her.
- Tina supervises prog2 and must not find prog1's assignments.
"""

from __future__ import annotations

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from assay.storer.authoring import drafts
from assay.storer.authoring.models import Draft
from assay.storer.courses.models import Assignment

from .test_web_pages import login

E = "/courses/prog1/assignments/sum/edit"
PAGES = [
    "",
    "statement/",
    "settings/",
    "tests/",
    "tests/1/",
    "judge/",
    "solutions/",
    "package/",
    "package.zip",
]


@pytest.fixture
def editing(cast) -> Draft:
    return drafts.start_from_version(cast.sum, cast.users["teacher"])


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize(("who", "status"), [(None, 302), ("alice", 403), ("tina", 404)])
def test_only_the_courses_supervisors_reach_the_editor(cast, editing, page, who, status):
    assert login(cast, who).get(f"{E}/{page}").status_code == status
    assert login(cast, who).post(f"{E}/{page}", {"statement": "x"}).status_code in (status, 405)
    assert drafts.statement(editing) != "x"


def test_students_cannot_create_assignments_in_the_editor(cast):
    r = login(cast, "alice").post(
        "/courses/prog1/new-assignment/editor/", {"slug": "x", "title": "X", "template": "tokens"}
    )
    assert r.status_code == 403 and not Assignment.objects.filter(slug="x").exists()


@pytest.mark.parametrize("page", [p for p in PAGES if p not in ("", "package.zip")])
def test_every_page_of_a_draft_renders_for_the_supervisor(cast, editing, page):
    r = login(cast, "teacher").get(f"{E}/{page}")
    assert r.status_code == 200 and 'aria-current="page"' in r.content.decode()


def test_without_a_draft_the_pages_lead_to_starting_one(cast):
    teacher = login(cast, "teacher")
    r = teacher.get(f"{E}/tests/")
    assert r.status_code == 302 and r["Location"] == f"{E}/"
    assert "Edit version 1" in teacher.get(f"{E}/").content.decode()
    assert teacher.post(f"{E}/").status_code == 302
    assert Draft.objects.get(assignment=cast.sum).origin == "version 1"


def test_a_supervisor_creates_from_a_template_and_edits_every_part(cast):
    teacher = login(cast, "teacher")
    r = teacher.post(
        "/courses/prog1/new-assignment/editor/",
        {"slug": "add", "title": "Add", "template": "tokens"},
    )
    assert (
        r.status_code == 302 and r["Location"] == "/courses/prog1/assignments/add/edit/statement/"
    )
    d = Draft.objects.get(assignment__slug="add")
    base = "/courses/prog1/assignments/add/edit"

    preview = teacher.post(
        f"{base}/statement/preview/", {"statement": "# Hi\n<script>alert(1)</script>"}
    )
    assert "<h1>Hi</h1>" in preview.content.decode() and "<script>" not in preview.content.decode()
    teacher.post(f"{base}/statement/", {"statement": "Print *a + b*."})
    assert drafts.statement(d) == "Print *a + b*."

    bad = teacher.post(
        f"{base}/settings/",
        {"title": "Add", "points": 10, "evaluation": "immediate", "memory_mib": 999999},
    )
    assert bad.status_code == 400 and "less than or equal to 65536" in bad.content.decode()
    teacher.post(
        f"{base}/settings/",
        {"title": "Add two", "points": 12, "evaluation": "immediate", "time_s": 2},
    )
    assert drafts.settings_of(d)["title"] == "Add two" and drafts.settings_of(d)["time_s"] == 2

    teacher.post(
        f"{base}/tests/",
        {"add-name": "sample", "add-input": "1 1\r\n", "add-output": "2\r\n", "add-visible": "on"},
    )
    assert drafts.read(d, "tests/sample/input") == b"1 1\n"
    teacher.post(f"{base}/tests/", {"name": "1", "visible": "0"})
    rows = {r["name"]: r for r in drafts.tests_of(d)[0]}
    assert rows["sample"]["visible"] and not rows["1"]["visible"]
    teacher.post(f"{base}/tests/2/", {"input": "5 5\n", "output": "10\n", "visible": "on"})
    assert drafts.read(d, "tests/2/output") == b"10\n"
    teacher.post(f"{base}/tests/4/delete/")
    assert "4" not in {r["name"] for r in drafts.tests_of(d)[0]}

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("z.in", "2 2\n")
        zf.writestr("z.out", "4\n")
    teacher.post(f"{base}/tests/", {"zip-tests_zip": SimpleUploadedFile("t.zip", buf.getvalue())})
    assert drafts.read(d, "tests/z/output") == b"4\n"

    teacher.post(f"{base}/judge/", {"type": "float", "abs_tol": "0.5"})
    assert drafts.judge_of(d)["abs_tol"] == 0.5

    teacher.post(
        f"{base}/solutions/",
        {"verdict": "accepted", "files": SimpleUploadedFile("add.py", b"print(2)\n")},
    )
    assert drafts.read(d, "solutions/accepted/add.py") == b"print(2)\n"
    teacher.post(f"{base}/solutions/", {"delete": "solutions/accepted/add.py"})
    assert drafts.read(d, "solutions/accepted/add.py") is None

    r = teacher.get(f"{base}/package.zip")
    assert r["Content-Type"] == "application/zip"
    assert drafts.check_package(r.content)["title"] == "Add two"
    r = teacher.post(f"{base}/package/", {"publish": "on"})
    assert r.status_code == 302 and "/manage/" in r["Location"]
    a = Assignment.objects.get(slug="add")
    assert a.versions.get().meta["limits"]["cpu_time_s"] == 2


@pytest.mark.parametrize(
    ("page", "data", "message"),
    [
        (
            "tests/",
            {"add-name": "..x y", "add-input": "1", "add-output": "1"},
            "may only use letters",
        ),
        ("tests/", {"add-name": "1", "add-input": "1", "add-output": "1"}, "exists already"),
        (
            "judge/",
            {"type": "checker", "checker": "checker.py", "checker_source": ""},
            "give the checker",
        ),
        (
            "settings/",
            {"title": "", "points": 1, "evaluation": "immediate"},
            "This field is required",
        ),
    ],
)
def test_a_refused_form_names_the_field_and_changes_nothing(cast, editing, page, data, message):
    before = drafts.package_zip(editing)
    r = login(cast, "teacher").post(f"{E}/{page}", data)
    assert r.status_code == 400 and message.lower() in r.content.decode().lower()
    assert drafts.package_zip(editing) == before


def test_hostile_uploads_get_a_clear_error_and_never_a_500(cast, editing):
    teacher = login(cast, "teacher")
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a.in", b"0" * (8 << 20))
        zf.writestr("a.out", b"1")
    r = teacher.post(f"{E}/tests/", {"zip-tests_zip": SimpleUploadedFile("t.zip", bomb.getvalue())})
    assert r.status_code == 400 and "zip bomb" in r.content.decode()
    r = teacher.post(
        f"{E}/tests/", {"zip-tests_zip": SimpleUploadedFile("t.zip", b"PK\x03\x04 broken")}
    )
    assert r.status_code == 400 and "not a valid zip" in r.content.decode()
    r = teacher.post(
        f"{E}/solutions/", {"verdict": "accepted", "files": SimpleUploadedFile(".hidden.py", b"x")}
    )
    assert r.status_code == 400
    r = teacher.post(f"{E}/statement/", {"statement": b"caf\xe9"})  # not UTF-8: replaced, not a 500
    assert r.status_code == 302
    r = teacher.get(f"{E}/tests/no-such-test/")
    assert r.status_code == 404


def test_a_body_over_the_package_limit_is_refused_before_it_is_read(cast, editing, settings):
    settings.MAX_PACKAGE_BYTES = 1000
    r = login(cast, "teacher").post(
        f"{E}/tests/", {"zip-tests_zip": SimpleUploadedFile("t.zip", b"0" * 5000)}
    )
    assert r.status_code == 413 and "too large" in r.content.decode()


def test_a_kattis_assignment_is_read_only_in_the_editor_with_a_message(cast):
    from assay.storer.evaluation import services

    from .conftest import package_zip

    a = Assignment.objects.create(course=cast.prog1, slug="dist", title="dist")
    services.add_version(a, package_zip("kattis-distance"), cast.users["teacher"], trusted=True)
    page = login(cast, "teacher").get("/courses/prog1/assignments/dist/edit/").content.decode()
    assert "is a Kattis problem package" in page and "Edit version 1" not in page


@pytest.mark.parametrize("page", ["tests/", "solutions/", "package/"])
def test_the_lists_cost_the_same_queries_for_5_and_40_rows(cast, editing, page):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    teacher = login(cast, "teacher")

    def cost() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert teacher.get(f"{E}/{page}").status_code == 200
        return len(queries)

    for i in range(1):
        drafts.put_test(editing, f"x{i}", input=b"1", output=b"1", new=True)
        drafts.put_solution(editing, "accepted", {f"s{i}.c": b""})
    few = cost()
    for i in range(1, 36):
        drafts.put_test(editing, f"x{i}", input=b"1", output=b"1", new=True)
        drafts.put_solution(editing, "accepted", {f"s{i}.c": b""})
    assert len(drafts.tests_of(editing)[0]) == 40
    assert cost() == few


def test_a_supervisor_changes_the_groups_points_in_the_page(cast):
    teacher = login(cast, "teacher")
    teacher.post(
        "/courses/prog1/new-assignment/editor/",
        {"slug": "tri", "title": "Tri", "template": "groups"},
    )
    base = "/courses/prog1/assignments/tri/edit"
    page = teacher.get(f"{base}/settings/").content.decode()
    assert "Points of group easy" in page and "The tests whose names match e*." in page
    data = {
        "groups-points_0": "3",
        "groups-scoring_0": "all",
        "groups-points_1": "-2",
        "groups-scoring_1": "all",
    }
    r = teacher.post(f"{base}/settings/", data)
    assert r.status_code == 400 and "greater than or equal to 0" in r.content.decode()
    data["groups-points_1"] = "7"
    assert teacher.post(f"{base}/settings/", data).status_code == 302
    d = Draft.objects.get(assignment__slug="tri")
    assert [(g["points"], g["scoring"]) for g in drafts.settings_of(d)["groups"]] == [
        (3, "all"),
        (7, "all"),
    ]
