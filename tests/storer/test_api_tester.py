"""The testers' side: claim, bundle, result (notify), failure, staleness, credentials — with
result archives made by the real executor in the real sandbox."""

import io
import json
import zipfile
from pathlib import Path

import pytest
import yaml
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile

from assay.lib.archive import zip_directory
from assay.sandbox import get_host
from assay.storer.evaluation import services
from assay.storer.evaluation.models import Job, Submission, TestResult
from assay.tester.bundle import open_bundle
from assay.tester.executor import Executor

from .conftest import SUM_OK, Api

WRONG = (
    b'#include <stdio.h>\nint main(){int a,b;scanf("%d %d",&a,&b);printf("%d\\n",a+b);return 0;}\n'
)


@pytest.fixture
def job(cast):
    submission = services.create_submission(
        cast.sum, cast.users["alice"], cast.users["alice"], {"sum.c": SUM_OK}
    )
    return submission.jobs.get()


def claim(cast, job, attempt=1, api=None):
    return (api or cast.api("tester")).post(
        f"/tester/jobs/{job.id}/claim", json={"attempt": attempt}
    )


def evaluate(bundle: bytes, tmp_path: Path, edit=None, old_tester=False) -> bytes:
    """Run the bundle through the real executor (with the package's checker, if it has one)
    and return the result archive, after ``edit(the result document)`` (in result.yaml and
    result.json alike); ``old_tester``: without result.json, as testers before it sent."""
    opened = open_bundle(bundle, tmp_path / "bundle")
    Executor(get_host(), "t1").evaluate(
        opened.spec, opened.files, opened.tests, tmp_path / "result",
        scripts=opened.scripts, checker_source=opened.checker_source,
    )  # fmt: skip
    path = tmp_path / "result" / "result.yaml"
    doc = yaml.safe_load(path.read_text())
    assert json.loads((tmp_path / "result" / "result.json").read_text()) == doc
    if edit:
        edit(doc)
        path.write_text(yaml.safe_dump(doc))
        (tmp_path / "result" / "result.json").write_text(json.dumps(doc))
    if old_tester:
        (tmp_path / "result" / "result.json").unlink()
    buf = io.BytesIO()
    zip_directory(tmp_path / "result", buf)
    return buf.getvalue()


def upload(cast, job, archive, attempt=1, api=None):
    return (api or cast.api("tester")).post(
        f"/tester/jobs/{job.id}/result?attempt={attempt}",
        {"archive": SimpleUploadedFile("r.zip", archive)},
    )


def fetch(cast, job, attempt=1, api=None):
    return (api or cast.api("tester")).get(f"/tester/jobs/{job.id}/bundle", attempt=attempt)


def test_the_whole_flow_stores_verdicts_time_memory_and_points(cast, job, tmp_path):
    assert claim(cast, job).json() == {"job": job.id, "attempt": 1, "kind": "evaluation"}
    r = fetch(cast, job)
    assert r.status_code == 200 and r["Content-Type"] == "application/zip"
    r = upload(cast, job, evaluate(r.content, tmp_path))
    assert r.status_code == 200, r.content
    assert r.json()["state"] == "done"
    job.refresh_from_db()
    assert (job.verdict, job.points, job.max_points, job.score) == ("AC", 10, 10, 1.0)
    tests = list(job.tests.all())
    assert [t.name for t in tests] == ["1", "2", "3", "4"]
    assert all(t.verdict == "AC" and t.cpu_time_s > 0 and t.memory_kib > 0 for t in tests)
    assert job.claimed_at <= job.bundle_sent_at <= job.result_received_at <= job.finished_at
    assert job.tester.jobs_done == 1


def test_it_stores_an_older_testers_result_yaml_without_result_json(cast, job, tmp_path):
    claim(cast, job)
    archive = evaluate(fetch(cast, job).content, tmp_path, old_tester=True)
    assert "result.json" not in zipfile.ZipFile(io.BytesIO(archive)).namelist()
    r = upload(cast, job, archive)
    assert r.status_code == 200 and r.json()["state"] == "done", r.content
    job.refresh_from_db()
    assert (job.verdict, job.points) == ("AC", 10) and job.tests.count() == 4


def test_it_reads_result_json_when_the_archive_has_both(cast, job, tmp_path):
    claim(cast, job)
    evaluate(fetch(cast, job).content, tmp_path)
    # a result.yaml that disagrees: the storer reads result.json only
    (tmp_path / "result" / "result.yaml").write_text("not: [a valid document")
    buf = io.BytesIO()
    zip_directory(tmp_path / "result", buf)
    r = upload(cast, job, buf.getvalue())
    assert r.status_code == 200 and r.json()["state"] == "done", r.content


def test_a_malformed_result_json_fails_the_job_naming_it(cast, job, tmp_path):
    claim(cast, job)
    evaluate(fetch(cast, job).content, tmp_path)
    (tmp_path / "result" / "result.json").write_text("{not json")
    buf = io.BytesIO()
    zip_directory(tmp_path / "result", buf)
    r = upload(cast, job, buf.getvalue())
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_result"
    job.refresh_from_db()
    assert job.state == "failed" and "malformed result.json" in job.error


def test_points_follow_the_storers_own_scoring(cast, tmp_path):
    submission = services.create_submission(
        cast.sum, cast.users["alice"], cast.users["alice"], {"sum.c": WRONG}
    )
    job = submission.jobs.get()
    claim(cast, job)
    upload(
        cast,
        job,
        evaluate(
            fetch(cast, job).content, tmp_path, edit=lambda d: d.update(points=10, verdict="AC")
        ),
    )
    job.refresh_from_db()
    assert job.verdict == "WA" and job.points == 5  # the tester's claimed points are not trusted


def test_a_student_sees_hidden_tests_verdicts_only(cast, job, tmp_path):
    claim(cast, job)
    upload(cast, job, evaluate(fetch(cast, job).content, tmp_path))
    doc = cast.api("alice").get(f"/submissions/{job.submission_id}").json()
    visible, hidden = doc["tests"][0], doc["tests"][1]
    assert visible["name"] == "1" and "cpu_time_s" in visible
    assert set(hidden) == {"name", "group", "verdict", "visible"}
    staff = cast.api("teacher").get(f"/submissions/{job.submission_id}").json()
    assert "cpu_time_s" in staff["tests"][1]


def test_a_claim_can_bring_the_bundle_in_the_same_answer(cast, job, tmp_path):
    r = cast.api("tester").post(f"/tester/jobs/{job.id}/claim", json={"attempt": 1, "bundle": True})
    assert r.status_code == 200 and r["Content-Type"] == "application/zip"
    assert r["X-Assay-Job-Kind"] == "evaluation"
    assert r.content == fetch(cast, job).content  # the bundle GET …/bundle serves
    assert upload(cast, job, evaluate(r.content, tmp_path)).json()["state"] == "done"
    # a second claim gets no bundle, only the refusal
    r = cast.api("tester").post(f"/tester/jobs/{job.id}/claim", json={"attempt": 1, "bundle": True})
    assert r.status_code == 409 and r.json()["error"]["code"] == "stale"


def test_a_second_claim_of_the_same_attempt_is_refused(cast, job):
    assert claim(cast, job).status_code == 200
    r = claim(cast, job, api=Api(cast.other_tester_token))
    assert r.status_code == 409 and r.json()["error"]["code"] == "stale"


def test_another_tester_cannot_fetch_or_report_the_job(cast, job, tmp_path):
    claim(cast, job)
    other = Api(cast.other_tester_token)
    assert fetch(cast, job, api=other).status_code == 403
    assert upload(cast, job, b"x", api=other).status_code == 403
    assert (
        other.post(f"/tester/jobs/{job.id}/fail", json={"attempt": 1, "error": "x"}).status_code
        == 403
    )


def test_nothing_is_served_before_a_claim(cast, job):
    assert fetch(cast, job).status_code == 403


def test_a_revoked_tester_is_refused(cast, job):
    cast.tester.revoked = True
    cast.tester.save()
    r = claim(cast, job)
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthenticated"


def test_a_user_token_is_no_tester_credential(cast, job):
    assert (
        cast.api("admin").post(f"/tester/jobs/{job.id}/claim", json={"attempt": 1}).status_code
        == 401
    )


def test_a_malformed_archive_fails_the_job_and_mails_the_administrators(
    cast, job, django_capture_on_commit_callbacks
):
    claim(cast, job)
    with django_capture_on_commit_callbacks(execute=True):
        r = upload(cast, job, b"not a zip")
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_result"
    job.refresh_from_db()
    assert job.state == "failed" and "malformed result archive" in job.error
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["admin@example.org"]
    assert f"job {job.id} failed" in mail.outbox[0].subject
    # students see that it failed, not the internals; supervisors see the error
    assert (
        cast.api("alice")
        .get(f"/submissions/{job.submission_id}")
        .json()["error"]
        .startswith("the evaluation failed")
    )
    assert (
        "malformed" in cast.api("teacher").get(f"/submissions/{job.submission_id}").json()["error"]
    )


def test_a_result_for_another_job_is_refused(cast, job, tmp_path):
    claim(cast, job)
    archive = evaluate(fetch(cast, job).content, tmp_path, edit=lambda d: d.update(job_id="12345"))
    r = upload(cast, job, archive)
    assert r.status_code == 400 and "job 12345" in r.json()["error"]["message"]
    assert not TestResult.objects.exists()


def test_a_result_missing_a_test_is_refused(cast, job, tmp_path):
    claim(cast, job)
    archive = evaluate(fetch(cast, job).content, tmp_path, edit=lambda d: d["tests"].pop())
    r = upload(cast, job, archive)
    assert r.status_code == 400 and "no result for test" in r.json()["error"]["message"]


def test_a_sandbox_failure_is_retried_then_failed_after_the_last_attempt(cast, job, settings):
    settings.MAX_EVALUATION_ATTEMPTS = 2
    claim(cast, job)
    r = cast.api("tester").post(
        f"/tester/jobs/{job.id}/fail",
        json={"attempt": 1, "error": "SandboxError: x", "retry": True},
    )
    assert r.json() == {"job": job.id, "state": "queued", "attempt": 2}
    claim(cast, job, attempt=2)
    r = cast.api("tester").post(
        f"/tester/jobs/{job.id}/fail",
        json={"attempt": 2, "error": "SandboxError: y", "retry": True},
    )
    assert r.json()["state"] == "failed"
    job.refresh_from_db()
    assert "gave up after 2 attempts" in job.error


def test_a_restart_gives_running_jobs_a_new_attempt_and_ignores_the_old_result(cast, job, tmp_path):
    claim(cast, job)
    bundle = fetch(cast, job).content
    assert services.redispatch_unfinished() == 1
    job.refresh_from_db()
    assert (job.state, job.attempt) == ("queued", 2)
    late = upload(cast, job, evaluate(bundle, tmp_path / "old"), attempt=1)
    assert late.status_code == 409
    claim(cast, job, attempt=2)
    r = upload(
        cast, job, evaluate(fetch(cast, job, attempt=2).content, tmp_path / "new"), attempt=2
    )
    assert r.status_code == 200
    assert (
        TestResult.objects.filter(job__submission=job.submission).count() == 4
    )  # exactly one result


def test_an_administrator_retries_a_failed_job(cast, job):
    claim(cast, job)
    cast.api("tester").post(
        f"/tester/jobs/{job.id}/fail", json={"attempt": 1, "error": "bad bundle"}
    )
    assert cast.api("teacher").post(f"/jobs/{job.id}/retry").status_code == 403
    r = cast.api("admin").post(f"/jobs/{job.id}/retry")
    assert r.status_code == 202 and r.json()["state"] == "queued"
    assert cast.api("admin").get("/jobs", state="queued").json()[0]["id"] == job.id


def test_dispatch_reaches_the_broker_after_commit(
    cast, django_capture_on_commit_callbacks, settings
):
    with django_capture_on_commit_callbacks(execute=True):
        submission = services.create_submission(
            cast.sum, cast.users["alice"], cast.users["alice"], {"sum.c": SUM_OK}
        )
    job = submission.jobs.get()
    folder = Path(settings.BROKER_URL.removeprefix("filesystem://"))
    messages = [json.loads(p.read_text()) for p in folder.glob("*.msg")]
    assert len(messages) == 1
    assert messages[0]["properties"]["delivery_info"]["routing_key"] == "assay.default.c"
    body = json.loads(__import__("base64").b64decode(messages[0]["body"]))
    assert body[0] == [job.id, 1]


def test_heartbeats_update_the_tester_and_its_jobs(cast, job):
    claim(cast, job)
    r = cast.api("tester").post(
        "/tester/heartbeat", json={"jobs": [job.id], "runtimes": ["c"], "slots": 2}
    )
    assert r.status_code == 200
    cast.tester.refresh_from_db()
    assert cast.tester.runtimes == ["c"] and cast.tester.slots == 2 and cast.tester.last_seen_at
    testers = cast.api("admin").get("/testers").json()
    assert testers[0]["name"] == "t1" and testers[0]["running"] == [job.id]


def test_the_bundle_carries_the_submission_and_the_tests(cast, job):
    claim(cast, job)
    with zipfile.ZipFile(io.BytesIO(fetch(cast, job).content)) as zf:
        config = yaml.safe_load(zf.read("submission_config"))
        assert config["job_id"] == str(job.id) and config["attempt"] == 1
        assert yaml.safe_load(zf.read("course_config"))["course"] == "prog1"


def test_submissions_are_kept_after_a_failure(cast, job):
    claim(cast, job)
    cast.api("tester").post(
        f"/tester/jobs/{job.id}/fail", json={"attempt": 1, "error": "bad bundle"}
    )
    assert Submission.objects.filter(pk=job.submission_id).exists()
    assert Job.objects.get(pk=job.id).state == "failed"


def test_queues_show_length_testers_and_estimated_wait(cast, job):
    cast.api("tester").post("/tester/heartbeat", json={"jobs": [], "runtimes": ["c"], "slots": 2})
    (q,) = cast.api("alice").get("/queues").json()
    assert (q["queue"], q["length"], q["testers"]) == ("assay.default.c", 1, 1)
    assert q["estimated_wait_s"] == 0.5  # one job ahead, 1 s per job by default, 2 slots


def test_a_submission_waiting_for_a_runtime_no_tester_offers_says_so(cast, job):
    doc = cast.api("alice").get(f"/submissions/{job.submission_id}").json()
    assert doc["no_tester"] is True and doc["estimated_wait_s"] is None
    cast.api("tester").post("/tester/heartbeat", json={"jobs": [], "runtimes": ["c"]})
    doc = cast.api("alice").get(f"/submissions/{job.submission_id}").json()
    assert doc["no_tester"] is False and doc["estimated_wait_s"] == 1.0


def test_a_toolchain_fault_is_retried_not_judged(cast, job, tmp_path):
    claim(cast, job)
    bundle = fetch(cast, job).content

    def toolchain_fault(doc):
        doc.update(status="failed", error="ToolchainError: runtime c does not work here")
        for key in ("verdict", "tests", "build"):
            doc.pop(key, None)

    r = upload(cast, job, evaluate(bundle, tmp_path, edit=toolchain_fault))
    assert r.status_code == 200, r.content
    job.refresh_from_db()
    assert (job.state, job.attempt, job.verdict) == ("queued", 2, "")


def test_a_retry_after_the_last_attempt_starts_a_fresh_budget(cast, job, settings):
    settings.MAX_EVALUATION_ATTEMPTS = 3
    for attempt in (1, 2, 3):  # three sandbox faults use up the attempts
        assert claim(cast, job, attempt).status_code == 200
        cast.api("tester").post(
            f"/tester/jobs/{job.id}/fail",
            json={"attempt": attempt, "error": "SandboxError: x", "retry": True},
        )
    job.refresh_from_db()
    assert (job.state, job.attempt) == ("failed", 3)
    assert cast.api("admin").post(f"/jobs/{job.id}/retry").status_code == 202
    listed = cast.api("admin").get("/jobs", state="queued").json()[0]
    assert (listed["attempt"], listed["attempts_used"]) == (4, 1)
    # one more fault is not the end: the retry has its own three attempts
    assert claim(cast, job, 4).status_code == 200
    r = cast.api("tester").post(
        f"/tester/jobs/{job.id}/fail",
        json={"attempt": 4, "error": "SandboxError: y", "retry": True},
    )
    assert r.json()["state"] == "queued", r.json()
    job.refresh_from_db()
    assert (job.state, job.attempt, job.attempts_used) == ("queued", 5, 2)
