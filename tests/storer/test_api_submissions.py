"""Submitting through the API: files or a zip, cross-submitting, on-demand evaluation, and every
refused input getting a clear 4xx with nothing stored."""

import io
import zipfile

from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.utils import timezone

from assay.storer.courses.models import Assignment
from assay.storer.evaluation.models import Job, Submission

from .conftest import SUM_OK


def upload(name, data):
    return SimpleUploadedFile(name, data)


def submit(cast, who, files, **extra):
    return cast.api(who).post(f"/assignments/{cast.sum.id}/submissions", {"files": files, **extra})


def stored_files():
    try:
        return default_storage.listdir("submissions/prog1/sum")[0]
    except FileNotFoundError:
        return []


def test_a_student_submits_files_and_the_job_is_queued(cast):
    r = submit(cast, "alice", [upload("sum.c", SUM_OK), upload("notes.h", b"// notes")])
    assert r.status_code == 201, r.content
    doc = r.json()
    assert doc["author"] == "alice" and not doc["cross_submitted"]
    assert [f["name"] for f in doc["files"]] == ["notes.h", "sum.c"]
    assert doc["status"] == "queued" and doc["queue_position"] == 1
    job = Job.objects.get(submission_id=doc["id"])
    assert (job.state, job.attempt, job.queue) == ("queued", 1, "assay.default.c")


def test_the_queue_position_counts_earlier_jobs(cast):
    submit(cast, "alice", [upload("sum.c", SUM_OK)])
    r = submit(cast, "bob", [upload("sum.c", SUM_OK)])
    assert r.json()["queue_position"] == 2


def test_a_zip_archive_is_unpacked(cast):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("sum.c", SUM_OK)
    r = cast.api("alice").post(
        f"/assignments/{cast.sum.id}/submissions", {"archive": upload("s.zip", buf.getvalue())}
    )
    assert r.status_code == 201
    assert [f["name"] for f in r.json()["files"]] == ["sum.c"]


def test_a_zip_with_a_path_traversal_is_refused_and_nothing_is_stored(cast):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("../../evil.c", SUM_OK)
    r = cast.api("alice").post(
        f"/assignments/{cast.sum.id}/submissions", {"archive": upload("s.zip", buf.getvalue())}
    )
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "bad_archive"
    assert "'..' is not allowed" in r.json()["error"]["message"]
    assert Submission.objects.count() == 0 and stored_files() == []


def test_a_zip_bomb_is_refused(cast):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("sum.c", b" " * (50 * 1024 * 1024))
    r = cast.api("alice").post(
        f"/assignments/{cast.sum.id}/submissions", {"archive": upload("s.zip", buf.getvalue())}
    )
    assert r.status_code == 400
    assert Submission.objects.count() == 0


def test_garbage_instead_of_a_zip_is_refused(cast):
    r = cast.api("alice").post(
        f"/assignments/{cast.sum.id}/submissions", {"archive": upload("s.zip", b"garbage")}
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_archive"


@override_settings(MAX_UPLOAD_FILES=2)
def test_too_many_files_are_refused(cast):
    r = submit(cast, "alice", [upload(f"f{i}.c", b"int x;") for i in range(3)])
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_many_files"
    assert Submission.objects.count() == 0


@override_settings(MAX_UPLOAD_FILE_BYTES=100)
def test_a_too_large_file_is_refused_naming_it(cast):
    r = submit(cast, "alice", [upload("big.c", b"x" * 101)])
    assert r.status_code == 413
    assert "big.c" in r.json()["error"]["message"]


@override_settings(MAX_UPLOAD_TOTAL_BYTES=150)
def test_a_too_large_upload_in_total_is_refused(cast):
    r = submit(cast, "alice", [upload("a.c", b"x" * 100), upload("b.c", b"x" * 100)])
    assert r.status_code == 413 and r.json()["error"]["code"] == "upload_too_large"


def test_a_file_in_the_wrong_language_is_refused(cast):
    r = submit(cast, "alice", [upload("sum.py", b"print(1)")])
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "bad_submission"
    assert "sum.py" in r.json()["error"]["message"]


def test_no_files_is_refused(cast):
    r = cast.api("alice").post(f"/assignments/{cast.sum.id}/submissions", {})
    assert r.status_code == 400 and r.json()["error"]["code"] == "no_files"


def test_a_dot_file_name_is_refused(cast):
    r = submit(cast, "alice", [upload(".bashrc", b"x")])
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_file_name"


def test_an_unknown_assignment_is_404_with_the_error_shape(cast):
    r = cast.api("alice").post("/assignments/999/submissions", {"files": [upload("sum.c", SUM_OK)]})
    assert r.status_code == 404
    assert r.json() == {
        "error": {"code": "not_found", "message": "assignment 999 not found", "field": None}
    }


def test_after_the_deadline_a_student_is_refused_but_a_supervisor_may_submit(cast):
    cast.sum.deadline = timezone.now() - timezone.timedelta(hours=1)
    cast.sum.save()
    r = submit(cast, "alice", [upload("sum.c", SUM_OK)])
    assert r.status_code == 403 and r.json()["error"]["code"] == "deadline_passed"
    assert submit(cast, "teacher", [upload("sum.c", SUM_OK)], for_user="alice").status_code == 201


def test_a_supervisor_submits_for_a_student(cast):
    r = submit(cast, "teacher", [upload("sum.c", SUM_OK)], for_user="alice")
    assert r.status_code == 201
    doc = r.json()
    assert (doc["author"], doc["submitted_by"], doc["cross_submitted"]) == (
        "alice",
        "teacher",
        True,
    )
    # and Alice sees it as hers
    assert cast.api("alice").get(f"/submissions/{doc['id']}").status_code == 200


def test_a_student_cannot_submit_for_another(cast):
    r = submit(cast, "alice", [upload("sum.c", SUM_OK)], for_user="bob")
    assert r.status_code == 403
    assert Submission.objects.count() == 0


def test_cross_submitting_for_a_non_member_is_refused(cast):
    r = submit(cast, "teacher", [upload("sum.c", SUM_OK)], for_user="carol")
    assert r.status_code == 400 and r.json()["error"]["field"] == "for_user"


def test_an_on_demand_assignment_waits_for_the_evaluate_call(cast):
    cast.sum.evaluation = Assignment.ON_DEMAND
    cast.sum.save()
    doc = submit(cast, "alice", [upload("sum.c", SUM_OK)]).json()
    assert doc["status"] == "not_evaluated" and not Job.objects.exists()
    r = cast.api("alice").post(f"/submissions/{doc['id']}/evaluate")
    assert r.status_code == 202 and r.json()["status"] == "queued"
    r = cast.api("alice").post(f"/submissions/{doc['id']}/evaluate")
    assert r.status_code == 409


def test_a_supervisor_re_evaluates_and_a_student_may_not(cast):
    doc = submit(cast, "alice", [upload("sum.c", SUM_OK)]).json()
    assert cast.api("alice").post(f"/submissions/{doc['id']}/reevaluate").status_code == 403
    r = cast.api("teacher").post(f"/submissions/{doc['id']}/reevaluate")
    assert r.status_code == 202
    assert Job.objects.filter(submission_id=doc["id"]).count() == 2


def test_students_list_only_their_own_submissions(cast):
    submit(cast, "alice", [upload("sum.c", SUM_OK)])
    submit(cast, "bob", [upload("sum.c", SUM_OK)])
    assert [s["author"] for s in cast.api("alice").get("/submissions").json()] == ["alice"]
    assert sorted(s["author"] for s in cast.api("teacher").get("/submissions").json()) == [
        "alice",
        "bob",
    ]
    assert cast.api("tina").get("/submissions").json() == []


def test_the_supervisor_changes_deadline_points_and_mode(cast):
    r = cast.api("teacher").patch(
        f"/assignments/{cast.sum.id}",
        {"points": 20, "evaluation": "on_demand", "deadline": "2030-01-01T00:00:00Z"},
    )
    assert r.status_code == 200
    assert (r.json()["points"], r.json()["evaluation"]) == (20, "on_demand")
    assert cast.api("alice").patch(f"/assignments/{cast.sum.id}", {"points": 99}).status_code == 403
    r = cast.api("teacher").patch(f"/assignments/{cast.sum.id}", {"points": -1})
    assert r.status_code == 400 and r.json()["error"]["field"] == "points"


def test_a_zip_of_one_folder_is_unpacked_as_if_the_folder_were_the_root(cast):
    # what "compress folder" makes, macOS's resource forks included
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("homework/sum.c", SUM_OK)
        zf.writestr("homework/lib/notes.h", b"// notes")
        zf.writestr("__MACOSX/homework/._sum.c", b"\x00\x05\x16\x07")
        zf.writestr("homework/.DS_Store", b"\x00")
    r = cast.api("alice").post(
        f"/assignments/{cast.sum.id}/submissions", {"archive": upload("s.zip", buf.getvalue())}
    )
    assert r.status_code == 201, r.content
    assert [f["name"] for f in r.json()["files"]] == ["lib/notes.h", "sum.c"]


def test_a_submission_may_name_its_language(cast):
    r = submit(cast, "alice", [upload("sum.c", SUM_OK)], language="C")
    assert r.status_code == 201, r.content
    assert Submission.objects.get(pk=r.json()["id"]).runtime == "c"


def test_a_language_other_than_the_assignments_is_refused_by_name(cast):
    for language, said in (("python3", "the assignment is in C"), ("klingon", "unknown runtime")):
        r = submit(cast, "alice", [upload("sum.c", SUM_OK)], language=language)
        assert r.status_code == 400, r.content
        error = r.json()["error"]
        assert error["field"] == "language" and said in error["message"], error
