"""Every API endpoint x every kind of caller, with the expected status code.

Callers: nobody; Alice (a student of prog1, the course of everything below, and the author of
the submission); Carol (a student of prog2); Teacher (supervisor of prog1); Tina (supervisor of
prog2); the administrator; the tester t1 (a tester credential, no user).
A student never reads another's submission; another course's people get 404, as if nothing
existed."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from assay.storer.evaluation import services
from assay.storer.feedback import services as feedback
from assay.storer.grading import services as grading

from .conftest import SUM_OK, package_zip

CALLERS = ["anonymous", "alice", "carol", "teacher", "tina", "admin", "tester"]
WHO = {"anonymous": None, "tester": "tester"}


def files():
    return {"files": [SimpleUploadedFile("sum.c", SUM_OK)]}


def package(slug):
    return lambda: {"slug": slug, "package": SimpleUploadedFile("p.zip", package_zip("sum-c"))}


# (method, path, data, expected by caller in CALLERS order); {a} = assignment, {s} = submission,
# {j} = job, {c} = the teacher's comment on the submission, {r} = a rubric item of the assignment
MATRIX = [
    ("get", "/me", None, [401, 200, 200, 200, 200, 200, 401]),
    ("get", "/courses", None, [401, 200, 200, 200, 200, 200, 401]),
    ("get", "/courses/prog1", None, [401, 200, 404, 200, 404, 200, 401]),
    ("get", "/courses/prog1/assignments", None, [401, 200, 404, 200, 404, 200, 401]),
    ("post", "/courses/prog1/assignments", package("new"), [401, 403, 404, 201, 404, 201, 401]),
    ("get", "/assignments/{a}", None, [401, 200, 404, 200, 404, 200, 401]),
    ("patch", "/assignments/{a}", {"points": 5}, [401, 403, 404, 200, 404, 200, 401]),
    ("get", "/assignments/{a}/versions", None, [401, 403, 404, 200, 404, 200, 401]),
    ("post", "/assignments/{a}/versions", package("x"), [401, 403, 404, 201, 404, 201, 401]),
    ("post", "/assignments/{a}/versions/1/publish", None, [401, 403, 404, 200, 404, 200, 401]),
    ("post", "/assignments/{a}/submissions", files, [401, 201, 404, 201, 404, 201, 401]),
    ("get", "/submissions", None, [401, 200, 200, 200, 200, 200, 401]),
    ("get", "/submissions/{s}", None, [401, 200, 404, 200, 404, 200, 401]),
    ("post", "/submissions/{s}/evaluate", None, [401, 409, 404, 409, 404, 409, 401]),
    ("post", "/submissions/{s}/reevaluate", None, [401, 403, 404, 202, 404, 202, 401]),
    ("get", "/submissions/{s}/comments", None, [401, 200, 404, 200, 404, 200, 401]),
    ("post", "/submissions/{s}/comments", {"text": "x"}, [401, 403, 404, 201, 404, 201, 401]),
    ("post", "/submissions/{s}/comments/read", None, [401, 200, 404, 200, 404, 200, 401]),
    ("patch", "/comments/{c}", {"text": "y"}, [401, 403, 404, 200, 404, 200, 401]),
    ("delete", "/comments/{c}", None, [401, 403, 404, 204, 404, 204, 401]),
    ("get", "/feedback/unread", None, [401, 200, 200, 200, 200, 200, 401]),
    ("get", "/assignments/{a}/rubric", None, [401, 200, 404, 200, 404, 200, 401]),
    (
        "post",
        "/assignments/{a}/rubric",
        {"title": "x", "points": 1},
        [401, 403, 404, 201, 404, 201, 401],
    ),
    ("patch", "/rubric/{r}", {"points": 3}, [401, 403, 404, 200, 404, 200, 401]),
    ("delete", "/rubric/{r}", None, [401, 403, 404, 204, 404, 204, 401]),
    ("get", "/assignments/{a}/grades/alice", None, [401, 200, 404, 200, 404, 200, 401]),
    ("put", "/assignments/{a}/grades/alice", {"bonus": 1}, [401, 403, 404, 200, 404, 200, 401]),
    # the rules (docs/deadlines.md); "sum" has no deadline: nothing to extend (400)
    (
        "patch",
        "/courses/prog1/assignments/sum",
        {"max_submissions": 3},
        [401, 403, 404, 200, 404, 200, 401],
    ),
    ("post", "/assignments/{a}/unpublish", None, [401, 403, 404, 200, 404, 200, 401]),
    ("get", "/assignments/{a}/extensions", None, [401, 403, 404, 200, 404, 200, 401]),
    (
        "put",
        "/assignments/{a}/extensions/alice",
        {"deadline": "2040-01-01T00:00:00Z"},
        [401, 403, 404, 400, 404, 400, 401],
    ),
    ("delete", "/assignments/{a}/extensions/alice", None, [401, 403, 404, 404, 404, 404, 401]),
    (
        "patch",
        "/courses/prog1",
        {"time_zone": "Europe/Prague"},
        [401, 403, 404, 200, 404, 200, 401],
    ),
    ("get", "/courses/prog1/grades", None, [401, 200, 404, 200, 404, 200, 401]),
    # the assignment as a whole (tests/storer/test_api_stats.py): one submission to re-evaluate
    ("get", "/assignments/{a}/reevaluate", None, [401, 403, 404, 200, 404, 200, 401]),
    ("post", "/assignments/{a}/reevaluate", {"confirm": 1}, [401, 403, 404, 202, 404, 202, 401]),
    ("get", "/assignments/{a}/statistics", None, [401, 403, 404, 200, 404, 200, 401]),
    # no draft started: the staff get 404 no_draft (with one: test_api_stats.py)
    (
        "post",
        "/assignments/{a}/draft/statement/preview",
        {"statement": "x"},
        [401, 403, 404, 404, 404, 404, 401],
    ),
    # running a course (docs/course-admin.md)
    ("post", "/courses", {"slug": "new", "title": "New"}, [401, 403, 403, 403, 403, 201, 401]),
    ("get", "/users", None, [401, 403, 403, 403, 403, 200, 401]),
    (
        "post",
        "/users",
        {"username": "new", "email": "new@example.org"},
        [401, 403, 403, 403, 403, 201, 401],
    ),
    ("patch", "/users/bob", {"active": False}, [401, 403, 403, 403, 403, 200, 401]),
    ("get", "/courses/prog1/members", None, [401, 403, 404, 200, 404, 200, 401]),
    ("post", "/courses/prog1/members", {"username": "carol"}, [401, 403, 404, 200, 404, 200, 401]),
    ("delete", "/courses/prog1/members/bob", None, [401, 403, 404, 204, 404, 204, 401]),
    ("get", "/courses/prog1/enrolment", None, [401, 403, 404, 200, 404, 200, 401]),
    (
        "patch",
        "/courses/prog1/enrolment",
        {"regenerate": True},
        [401, 403, 404, 200, 404, 200, 401],
    ),
    (
        "post",
        "/courses/prog1/roster",
        lambda: {"roster": SimpleUploadedFile("r.csv", b"username,email\nzoe,zoe@example.org\n")},
        [401, 403, 404, 200, 404, 200, 401],
    ),
    ("post", "/join", {"key": "NOSUCHKEY2"}, [401, 404, 404, 404, 404, 404, 401]),
    ("get", "/jobs", None, [401, 403, 403, 403, 403, 200, 401]),
    ("post", "/jobs/{j}/retry", None, [401, 403, 403, 403, 403, 409, 401]),
    ("get", "/testers", None, [401, 403, 403, 403, 403, 200, 401]),
    ("get", "/queues", None, [401, 200, 200, 200, 200, 200, 401]),
    ("post", "/tester/heartbeat", {"jobs": []}, [401, 401, 401, 401, 401, 401, 200]),
    ("post", "/tester/jobs/{j}/claim", {"attempt": 1}, [401, 401, 401, 401, 401, 401, 200]),
    ("get", "/tester/jobs/{j}/bundle?attempt=1", None, [401, 401, 401, 401, 401, 401, 403]),
    (
        "post",
        "/tester/jobs/{j}/result?attempt=1",
        lambda: {"archive": SimpleUploadedFile("r.zip", b"x")},
        [401, 401, 401, 401, 401, 401, 403],
    ),
    (
        "post",
        "/tester/jobs/{j}/fail",
        {"attempt": 1, "error": "x"},
        [401, 401, 401, 401, 401, 401, 403],
    ),
]
CASES = [
    (m, p, d, caller, codes[i]) for m, p, d, codes in MATRIX for i, caller in enumerate(CALLERS)
]


@pytest.mark.parametrize(
    ("method", "path", "data", "caller", "expected"),
    CASES,
    ids=[f"{c[0]} {c[1]} as {c[3]}" for c in CASES],
)
def test_permission_matrix(cast, method, path, data, caller, expected):
    submission = services.create_submission(
        cast.sum, cast.users["alice"], cast.users["alice"], {"sum.c": SUM_OK}
    )
    job = submission.jobs.get()
    comment = feedback.add(submission, cast.users["teacher"], "A comment")
    item = grading.add_item(cast.sum, cast.users["teacher"], "Style", 2)
    url = path.format(a=cast.sum.id, s=submission.id, j=job.id, c=comment.id, r=item.id)
    api = cast.api(WHO.get(caller, caller))
    body = data() if callable(data) else data
    if method == "get":
        r = api.client.get("/api" + url, **api.headers)
    elif method == "patch":
        r = api.patch(url, body)
    elif method == "put":
        r = api.client.put("/api" + url, body, content_type="application/json", **api.headers)
    elif method == "delete":
        r = api.client.delete("/api" + url, **api.headers)
    elif callable(data):  # multipart: files and form fields
        r = api.post(url, body)
    else:
        r = api.post(url, json=body if body is not None else {})
    assert r.status_code == expected, r.content
    if r.status_code >= 400:
        assert set(r.json()["error"]) == {"code", "message", "field"}


def test_a_student_never_reads_hidden_test_data_through_the_api(cast):
    submission = services.create_submission(
        cast.sum, cast.users["alice"], cast.users["alice"], {"sum.c": SUM_OK}
    )
    paths = [
        "/courses/prog1/assignments",
        f"/assignments/{cast.sum.id}",
        f"/submissions/{submission.id}",
        "/submissions",
    ]
    expected_output_of_a_hidden_test = "2000000000000"
    for p in paths:
        assert expected_output_of_a_hidden_test not in cast.api("alice").get(p).content.decode()


def test_the_openapi_schema_is_served(client):
    r = client.get("/api/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    assert "/api/assignments/{assignment_id}/submissions" in paths
    assert "/api/tester/jobs/{job_id}/claim" in paths
