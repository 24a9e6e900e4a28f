"""Jobs of an assignment on a course image: routed to testers that offer the image, the image in
the job's bundle, and "no tester" while none offers it.

- The tester "t1" offers C on the host's system; "t2" also has the image py-numpy.
"""

import pytest

from assay import broker
from assay.storer.evaluation import models, queries, services
from assay.tester.bundle import open_bundle

from .conftest import SUM_OK, Api
from .test_api_tester import claim, fetch


@pytest.fixture
def on_image(cast):
    """The sum assignment's current version names the image py-numpy."""
    version = cast.sum.current_version
    version.meta = {**version.meta, "image": "py-numpy"}
    version.save(update_fields=["meta"])
    return cast.sum


def submit(cast, assignment):
    alice = cast.users["alice"]
    return services.create_submission(assignment, alice, alice, {"sum.c": SUM_OK}).jobs.get()


def test_the_queue_names_the_image():
    assert broker.queue_name("default", "python3", "py-numpy") == "assay.default.python3.py-numpy"
    assert broker.parse_queue("assay.gpu.python3.py-numpy") == ("gpu", "python3", "py-numpy")
    assert broker.parse_queue("assay.default.c") == ("default", "c", None)


def test_a_job_on_an_image_goes_to_the_images_queue(cast, on_image):
    assert submit(cast, on_image).queue == "assay.default.c.py-numpy"


def test_a_course_image_applies_to_assignments_that_name_none(cast):
    cast.sum.course.config = {**cast.sum.course.config, "image": "old-gcc"}
    cast.sum.course.save(update_fields=["config"])
    assert submit(cast, cast.sum).queue == "assay.default.c.old-gcc"


def test_the_bundle_tells_the_tester_the_image(cast, on_image, tmp_path):
    job = submit(cast, on_image)
    claim(cast, job)
    spec = open_bundle(fetch(cast, job).content, tmp_path / "bundle").spec
    assert spec.image == "py-numpy"


def test_only_a_tester_offering_the_image_serves_its_queue(cast, on_image):
    job = submit(cast, on_image)
    cast.api("tester").post("/tester/heartbeat", json={"jobs": [], "runtimes": ["c"]})
    doc = cast.api("alice").get(f"/submissions/{job.submission_id}").json()
    assert doc["no_tester"] is True  # t1 offers C, but not on py-numpy
    assert queries.testers_for("assay.default.c") != []
    Api(cast.other_tester_token).post(
        "/tester/heartbeat", json={"jobs": [], "runtimes": ["c"], "images": ["py-numpy@0123abcd"]}
    )
    assert models.Tester.objects.get(name="t2").images == ["py-numpy@0123abcd"]
    assert [t.name for t in queries.testers_for(job.queue)] == ["t2"]
    doc = cast.api("alice").get(f"/submissions/{job.submission_id}").json()
    assert doc["no_tester"] is False


def test_a_package_on_an_image_is_validated_by_a_tester_that_has_it(cast):
    import io
    import zipfile

    from assay.tester.worker import queues_for

    from .conftest import package_zip

    plain, buf = zipfile.ZipFile(io.BytesIO(package_zip("sum-c"))), io.BytesIO()
    with zipfile.ZipFile(buf, "w") as out:
        for item in plain.infolist():
            data = plain.read(item)
            if item.filename.endswith("assignment.yaml"):
                data += b"\nimage: py-numpy\n"
            out.writestr(item, data)
    version = services.add_version(cast.sum, buf.getvalue(), cast.users["teacher"])
    job = models.Job.objects.get(version=version, kind=models.Job.VALIDATION)
    assert job.queue == "assay.default.validate.py-numpy"
    # a tester with the image listens there; one without it does not
    assert job.queue in queues_for("default", ["c"], images={"py-numpy": ["c"]})
    assert job.queue not in queues_for("default", ["c"])
    assert broker.validation_queue("default") in queues_for("default", ["c"])


def test_a_package_naming_no_image_is_validated_on_the_courses(cast):
    from .conftest import package_zip

    cast.sum.course.config = {**cast.sum.course.config, "image": "old-gcc"}
    cast.sum.course.save()
    version = services.add_version(cast.sum, package_zip("sum-c"), cast.users["teacher"])
    job = models.Job.objects.get(version=version, kind=models.Job.VALIDATION)
    assert job.queue == "assay.default.validate.old-gcc"
    # the tester learns the image from the claim (the package itself does not name it)
    r = Api(cast.tester_token).post(
        f"/tester/jobs/{job.id}/claim", json={"attempt": 1, "bundle": True}
    )
    assert r.status_code == 200 and r["X-Assay-Job-Kind"] == "validation"
    assert r["X-Assay-Image"] == "old-gcc"


def test_a_claim_on_the_hosts_system_names_no_image(cast):
    job = submit(cast, cast.sum)
    r = Api(cast.tester_token).post(
        f"/tester/jobs/{job.id}/claim", json={"attempt": 1, "bundle": True}
    )
    assert r.status_code == 200 and not r.has_header("X-Assay-Image")


def test_a_tester_counts_for_an_image_only_with_a_runtime_that_works_in_it(cast, on_image):
    job = submit(cast, on_image)  # C on py-numpy
    heartbeat = {"jobs": [], "runtimes": ["c"], "images": ["py-numpy@0123abcd"]}
    Api(cast.other_tester_token).post(
        "/tester/heartbeat",
        json={**heartbeat, "image_runtimes": {"py-numpy@0123abcd": ["python3"]}},
    )
    assert models.Tester.objects.get(name="t2").image_runtimes == {"py-numpy@0123abcd": ["python3"]}
    queries.forget_testers()
    assert queries.testers_for(job.queue) == []  # C does not work in its py-numpy
    assert [t.name for t in queries.testers_for("assay.default.python3.py-numpy")] == ["t2"]
    Api(cast.other_tester_token).post(
        "/tester/heartbeat",
        json={**heartbeat, "image_runtimes": {"py-numpy@0123abcd": ["python3", "c"]}},
    )
    queries.forget_testers()
    assert [t.name for t in queries.testers_for(job.queue)] == ["t2"]
