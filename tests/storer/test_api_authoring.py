"""The editor's REST API (assay/storer/api/authoring.py): the same operations as the pages, for
the course's supervisors only, with the API's one error shape.

- Teacher supervises prog1: creates, edits, builds and downloads drafts.
- Alice is a student of prog1: 403 on everything of the editor (she may see the assignment).
- Tina supervises prog2: prog1's assignments are not found for her.
- Admin may do everything.
"""

from __future__ import annotations

import io
import zipfile

import pytest

from assay.storer.authoring import drafts
from assay.storer.authoring.models import Draft
from assay.storer.courses.models import Assignment


def D(cast) -> str:
    return f"/assignments/{cast.sum.id}/draft"


def put(api, path, body):
    return api.client.put("/api" + path, body, content_type="application/json", **api.headers)


def delete(api, path):
    return api.client.delete("/api" + path, **api.headers)


@pytest.mark.parametrize(
    ("who", "status"),
    [(None, 401), ("alice", 403), ("carol", 404), ("tina", 404), ("teacher", 201), ("admin", 201)],
)
def test_only_supervisors_start_a_draft(cast, who, status):
    r = cast.api(who).post(D(cast), json={})
    assert r.status_code == status, r.content
    assert Draft.objects.filter(assignment=cast.sum).exists() == (status == 201)
    if status != 201:
        assert r.json()["error"]["code"] in ("unauthenticated", "forbidden", "not_found")


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "", None), ("delete", "", None), ("get", "/statement", None), ("put", "/statement", {"statement": "x"}),
        ("get", "/settings", None), ("put", "/settings", {"title": "x"}), ("get", "/judge", None),
        ("put", "/judge", {"type": "exact"}), ("get", "/tests", None), ("get", "/tests/1", None),
        ("put", "/tests/1", {"input": "x"}), ("delete", "/tests/1", None), ("get", "/solutions", None),
        ("put", "/solutions", {"verdict": "accepted", "name": "x.c", "content": ""}),
        ("delete", "/solutions/solutions/accepted/sum.c", None), ("post", "/build", {}), ("get", "/package", None),
    ],
)  # fmt: skip
@pytest.mark.parametrize(("who", "status"), [("alice", 403), ("tina", 404)])
def test_no_one_but_the_staff_touches_a_draft(cast, method, path, body, who, status):
    drafts.start_from_version(cast.sum, cast.users["teacher"])
    before = drafts.package_zip(Draft.objects.get(assignment=cast.sum))
    api = cast.api(who)
    if method == "get":
        r = api.get(D(cast) + path)
    elif method == "delete":
        r = delete(api, D(cast) + path)
    elif method == "put":
        r = put(api, D(cast) + path, body)
    else:
        r = api.post(D(cast) + path, json=body)
    assert r.status_code == status
    assert drafts.package_zip(Draft.objects.get(assignment=cast.sum)) == before
    assert not cast.sum.versions.filter(number=2).exists()


def test_a_supervisor_makes_an_assignment_through_the_api(cast, tmp_path):
    api = cast.api("teacher")
    assert "tokens" in [t["key"] for t in api.get("/authoring/templates").json()]
    r = api.post(
        "/courses/prog1/drafts", json={"slug": "add", "title": "Add", "template": "tokens"}
    )
    assert r.status_code == 201 and any(f["path"] == "assignment.yaml" for f in r.json()["files"])
    a = Assignment.objects.get(slug="add")
    assert not a.published
    base = f"/assignments/{a.id}/draft"
    assert put(api, f"{base}/statement", {"statement": "# Add"}).json() == {"statement": "# Add"}
    r = put(api, f"{base}/settings", {"time_s": 3, "memory_mib": None})
    assert r.status_code == 200 and r.json()["time_s"] == 3 and r.json()["memory_mib"] is None
    r = put(api, f"{base}/settings", {"time_s": 0})
    assert r.status_code == 400 and r.json()["error"]["field"] == "time_s"
    r = put(api, f"{base}/judge", {"type": "exact"})
    assert r.json()["type"] == "exact"
    r = put(api, f"{base}/tests/s1", {"input": "1 2\n", "output": "3\n", "visible": True})
    assert r.status_code == 201 and r.json()["visible"] and r.json()["input"] == "1 2\n"
    assert put(api, f"{base}/tests/s1", {"output": "3\n"}).status_code == 200
    assert put(api, f"{base}/tests/..%2Fx", {"input": "", "output": ""}).status_code in (400, 404)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("9.in", "4 5\n")
        zf.writestr("9.out", "9\n")
    r = api.post(f"{base}/tests.zip", {"tests_zip": io.BytesIO(buf.getvalue())})
    assert r.status_code == 200 and r.json() == {"tests": ["9"]}
    assert "9" in [t["name"] for t in api.get(f"{base}/tests").json()["tests"]]
    assert delete(api, f"{base}/tests/9").status_code == 204
    r = put(
        api, f"{base}/solutions", {"verdict": "accepted", "name": "add.py", "content": "print(3)\n"}
    )
    assert r.status_code == 201 and r.json()["path"] == "solutions/accepted/add.py"
    assert delete(api, f"{base}/solutions/solutions/accepted/add.py").status_code == 204
    r = api.get(f"{base}/package")
    assert r["Content-Type"] == "application/zip"
    path = tmp_path / "add.zip"
    path.write_bytes(r.content)
    from assay.package import open_package

    with open_package(path) as pkg:
        assert (
            pkg.description == "# Add" and pkg.limits.cpu_time_s == 3 and pkg.judge.kind == "exact"
        )
        assert pkg.test("s1").visible
    r = api.post(f"{base}/build", json={"publish": False})
    assert r.status_code == 201 and r.json()["number"] == 1 and r.json()["state"] == "validating"


def test_errors_name_the_field_in_the_apis_error_shape(cast):
    api = cast.api("teacher")
    assert api.get(D(cast)).json()["error"]["code"] == "no_draft"
    dist = Assignment.objects.create(course=cast.prog1, slug="dist", title="dist")
    from assay.storer.evaluation import services

    from .conftest import package_zip

    services.add_version(dist, package_zip("kattis-distance"), cast.users["teacher"], trusted=True)
    r = api.post(f"/assignments/{dist.id}/draft", json={})
    assert r.status_code == 409 and r.json()["error"]["code"] == "kattis_read_only"
    assert (
        api.post(f"/assignments/{dist.id}/draft", json={"template": "checker"}).status_code == 201
    )
    r = api.post("/courses/prog1/drafts", json={"slug": "sum", "title": "x", "template": "tokens"})
    assert r.status_code == 409 and r.json()["error"]["field"] == "slug"
    r = api.post("/courses/prog1/drafts", json={"slug": "new", "title": "x", "template": "nope"})
    assert r.status_code == 400 and r.json()["error"]["field"] == "template"
    api.post(D(cast), json={})
    r = put(
        api, D(cast) + "/judge", {"type": "checker", "checker": "../evil.py", "checker_source": "x"}
    )
    assert r.status_code == 400 and r.json()["error"]["field"] == "checker"
    r = put(
        api, D(cast) + "/solutions", {"verdict": "accepted", "name": "a/../../b.c", "content": ""}
    )
    assert r.status_code == 400 and r.json()["error"]["field"] == "file"
    r = api.post(D(cast) + "/tests.zip", {"tests_zip": io.BytesIO(b"not a zip")})
    assert r.status_code == 400 and r.json()["error"]["field"] == "tests_zip"
    r = put(api, D(cast) + "/statement", {"statement": "a\u0000b"})
    assert r.status_code == 400


def test_group_points_through_the_api(cast):
    api = cast.api("teacher")
    r = api.post(
        "/courses/prog1/drafts", json={"slug": "tri", "title": "Tri", "template": "groups"}
    )
    a = Assignment.objects.get(slug="tri")
    base = f"/assignments/{a.id}/draft"
    r = put(
        api,
        f"{base}/groups",
        {"groups": [{"name": "hard", "points": 16, "scoring": "proportional"}]},
    )
    assert r.status_code == 200
    assert [(g["name"], g["points"], g["scoring"]) for g in r.json()["groups"]] == [
        ("easy", 4, "proportional"), ("hard", 16, "proportional"),
    ]  # fmt: skip
    r = put(api, f"{base}/groups", {"groups": [{"name": "medium", "points": 1}]})
    assert r.status_code == 404 and r.json()["error"]["field"] == "groups.0.name"
    assert (
        put(cast.api("alice"), f"{base}/groups", {"groups": []}).status_code == 404
    )  # unpublished
