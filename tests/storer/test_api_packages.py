"""Assignment packages through the API: upload (native or Kattis), structural errors at once,
validation by the reference solutions on a tester, publication."""

import io
import json
import zipfile

from django.core.files.uploadedfile import SimpleUploadedFile

from assay.check import check_package
from assay.package import open_package
from assay.sandbox import get_host
from assay.storer.courses.models import Assignment, AssignmentVersion
from assay.storer.evaluation.models import Job

from .conftest import package_zip


def tiny_package(expected_dir: str = "accepted", extra: dict | None = None) -> bytes:
    files = {
        "assignment.yaml": "title: Echo\nruntime: python3\n",
        "tests/1/input": "7\n",
        "tests/1/output": "7\n",
        f"solutions/{expected_dir}/echo.py": "print(input())\n",
        **(extra or {}),
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return buf.getvalue()


def create(cast, data, slug="echo", who="teacher", publish=True):
    return cast.api(who).post(
        "/courses/prog1/assignments",
        {"slug": slug, "publish": publish, "package": SimpleUploadedFile("p.zip", data)},
    )


def validate_on_a_tester(cast, job, tmp_path):
    """What `assay worker` does with a validation job, through the tester API."""
    tester = cast.api("tester")
    assert (
        tester.post(f"/tester/jobs/{job.id}/claim", json={"attempt": 1}).json()["kind"]
        == "validation"
    )
    package = tmp_path / "p.zip"
    package.write_bytes(tester.get(f"/tester/jobs/{job.id}/bundle", attempt=1).content)
    with open_package(package) as assignment:
        report = check_package(assignment, get_host()).to_dict()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("report.json", json.dumps(report, default=str))
    r = tester.post(
        f"/tester/jobs/{job.id}/result?attempt=1",
        {"archive": SimpleUploadedFile("r.zip", buf.getvalue())},
    )
    assert r.status_code == 200, r.content


def test_an_uploaded_package_is_published_once_its_solutions_pass(cast, tmp_path):
    r = create(cast, tiny_package())
    assert r.status_code == 201, r.content
    doc = r.json()
    assert doc["published"] is False and doc["validation"]["state"] == "validating"
    a = Assignment.objects.get(slug="echo")
    # students do not see it yet
    assert cast.api("alice").get(f"/assignments/{a.id}").status_code == 404
    job = Job.objects.get(kind="validation")
    assert job.queue == "assay.default.validate"
    validate_on_a_tester(cast, job, tmp_path)
    a.refresh_from_db()
    assert a.published and a.title == "Echo"
    versions = cast.api("teacher").get(f"/assignments/{a.id}/versions").json()
    assert versions[0]["state"] == "published" and versions[0]["validation"]["ok"] is True
    assert cast.api("alice").get(f"/assignments/{a.id}").status_code == 200


def test_a_package_whose_solutions_fail_is_not_published(cast, tmp_path):
    create(cast, tiny_package(expected_dir="wrong_answer"))
    validate_on_a_tester(cast, Job.objects.get(kind="validation"), tmp_path)
    v = AssignmentVersion.objects.get(assignment__slug="echo")
    assert v.state == "invalid"
    assert v.validation["solutions"][0]["verdict"] == "AC"
    assert not Assignment.objects.get(slug="echo").published


def test_a_valid_version_waits_for_publish_when_asked(cast, tmp_path):
    create(cast, tiny_package(), publish=False)
    validate_on_a_tester(cast, Job.objects.get(kind="validation"), tmp_path)
    a = Assignment.objects.get(slug="echo")
    assert not a.published
    assert cast.api("teacher").post(f"/assignments/{a.id}/versions/1/publish").status_code == 200
    a.refresh_from_db()
    assert a.published


def test_publishing_an_unvalidated_version_is_refused(cast):
    create(cast, tiny_package(), publish=False)
    a = Assignment.objects.get(slug="echo")
    r = cast.api("teacher").post(f"/assignments/{a.id}/versions/1/publish")
    assert r.status_code == 409 and "validating" in r.json()["error"]["message"]


def test_a_malformed_package_is_refused_naming_file_and_field_and_nothing_is_stored(cast):
    bad = tiny_package(extra={"assignment.yaml": "title: Echo\nlimits: {time_s: -1}\n"})
    r = create(cast, bad)
    assert r.status_code == 400
    err = r.json()["error"]
    assert err["code"] == "bad_package" and err["field"] == "package"
    assert "assignment.yaml: limits.time_s" in err["message"]
    assert not Assignment.objects.filter(slug="echo").exists()


def test_something_that_is_no_zip_is_refused(cast):
    r = create(cast, b"hello")
    assert r.status_code == 400 and "zip" in r.json()["error"]["message"]


def test_a_kattis_package_can_be_uploaded(cast):
    r = create(cast, package_zip("kattis-distance"), slug="distance")
    assert r.status_code == 201, r.content
    assert AssignmentVersion.objects.get(assignment__slug="distance").format == "kattis"


def test_a_new_version_of_an_existing_assignment(cast):
    r = cast.api("teacher").post(
        f"/assignments/{cast.sum.id}/versions",
        {"package": SimpleUploadedFile("p.zip", package_zip("sum-c"))},
    )
    assert r.status_code == 201 and r.json()["number"] == 2 and r.json()["state"] == "validating"
    cast.sum.refresh_from_db()
    assert cast.sum.current_version.number == 1  # the old version stays published until v2 passes


def test_a_duplicate_slug_is_refused(cast):
    r = create(cast, tiny_package(), slug="sum")
    assert r.status_code == 409 and r.json()["error"]["field"] == "slug"


def test_a_bad_slug_is_refused(cast):
    r = create(cast, tiny_package(), slug="Bad Slug!")
    assert r.status_code == 400 and r.json()["error"]["field"] == "slug"


def zip_keeping_links(root) -> bytes:
    """Zip a package directory as `zip --symlinks` does: links stay links."""
    import os
    import stat

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for path in sorted(root.rglob("*")):
            name = path.relative_to(root).as_posix()
            if path.is_symlink():
                info = zipfile.ZipInfo(name)
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
                zf.writestr(info, os.readlink(path))
            elif path.is_file():
                zf.write(path, name)
    return buf.getvalue()


def test_a_kattis_package_reusing_tests_through_links_is_accepted(cast, tmp_path):
    from tests.conftest import ROOT

    root = ROOT / "tests" / "kattis_packages" / "symlinks"
    assert any(p.is_symlink() for p in root.rglob("*"))
    r = create(cast, zip_keeping_links(root), slug="links")
    assert r.status_code == 201, r.content
    a = Assignment.objects.get(course__slug="prog1", slug="links")
    tests = [t["name"] for t in a.versions.get().meta["tests"]]
    assert len(tests) == len(set(tests)) and len(tests) >= 3, tests


def test_a_package_link_that_leaves_the_package_is_refused_by_name(cast):
    import stat

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("problem.yaml", "name: P\n")
        zf.writestr("data/secret/1.ans", "1\n")
        info = zipfile.ZipInfo("data/secret/1.in")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, "../../../../etc/passwd")
    r = create(cast, buf.getvalue(), slug="escape")
    assert r.status_code == 400, r.content
    assert "data/secret/1.in" in r.json()["error"]["message"]
    assert "leaves the archive" in r.json()["error"]["message"]
