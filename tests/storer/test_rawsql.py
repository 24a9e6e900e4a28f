"""The raw SQL of the hot paths (assay/storer/rawsql.py) reads and writes rows exactly as the
ORM does, on SQLite and on PostgreSQL: the same field values (aware datetimes, JSON, booleans),
and what it writes is what the ORM's own filters find."""

from __future__ import annotations

import datetime as dt

from django.forms.models import model_to_dict
from django.utils import timezone

from assay.storer import rawsql
from assay.storer.evaluation import models, queries, services
from assay.storer.evaluation.models import Job, Submission, TestResult

from .conftest import SUM_OK
from .test_api_tester import claim, evaluate, fetch, upload


def fields_of(obj) -> dict:
    return {f.attname: getattr(obj, f.attname) for f in type(obj)._meta.concrete_fields}


def submit(cast, who: str = "alice") -> Submission:
    user = cast.users[who]
    return services.create_submission(cast.sum, user, user, {"sum.c": SUM_OK})


def test_a_submission_and_its_people_load_as_the_orm_loads_them(cast):
    s = submit(cast)
    loaded = queries.submission(s.id)
    orm = Submission.objects.select_related("assignment__course").get(pk=s.id)
    assert fields_of(loaded) == fields_of(orm)
    assert fields_of(loaded.assignment) == fields_of(orm.assignment)
    assert fields_of(loaded.assignment.course) == fields_of(orm.assignment.course)
    assert loaded.created_at.tzinfo is not None
    assert (loaded.author.id, loaded.author.username) == (cast.users["alice"].id, "alice")
    assert loaded.submitted_by.username == "alice"
    assert queries.submission(s.id + 1000) is None


def test_a_done_job_and_its_tests_load_as_the_orm_loads_them(cast, done):
    job = queries.latest_job(done.id)
    orm = Job.objects.get(submission=done)
    assert fields_of(job) == fields_of(orm)
    assert job.build == orm.build and isinstance(job.build, dict) and job.build["status"] == "OK"
    assert job.limits == orm.version.meta["limits"] and job.ahead == 0
    tests = queries.test_results(orm.id)
    assert [fields_of(t) for t in tests] == [fields_of(t) for t in orm.tests.order_by("order")]
    assert len(tests) == 4 and all(isinstance(t.visible, bool) for t in tests)


def test_a_testers_job_loads_with_its_version_course_and_submission(cast):
    s = submit(cast)
    job = queries.job_with_context(s.jobs.get().id)
    orm = Job.objects.select_related("version__assignment__course", "submission").get(pk=job.id)
    assert fields_of(job) == fields_of(orm)
    assert job.version.meta == orm.version.meta
    assert model_to_dict(job.version.assignment.course) == model_to_dict(
        orm.version.assignment.course
    )
    assert fields_of(job.submission) == fields_of(orm.submission)


def test_what_a_raw_update_writes_the_orms_filters_find(cast):
    s = submit(cast)
    job = s.jobs.get()
    long_ago = timezone.now() - dt.timedelta(hours=1)
    assert rawsql.update(Job, job.id, {"heartbeat_at": long_ago, "steps": {"a": [1, 2]}}) == 1
    found = Job.objects.filter(heartbeat_at__lt=timezone.now() - dt.timedelta(minutes=30))
    assert list(found) == [job]
    job.refresh_from_db()
    assert job.heartbeat_at == long_ago and job.steps == {"a": [1, 2]}


def test_a_conditional_update_changes_nothing_when_the_row_moved_on(cast):
    job = submit(cast).jobs.get()
    assert rawsql.update(Job, job.id, {"state": Job.RUNNING}, where={"attempt": 2}) == 0
    assert rawsql.update(Job, job.id, {"state": Job.RUNNING}, where={"attempt": 1}) == 1
    job.refresh_from_db()
    assert job.state == Job.RUNNING


def test_a_tester_loaded_by_its_token_is_the_orms(cast):
    cast.api("tester").post("/tester/heartbeat", json={"jobs": [], "runtimes": ["c", "cpp"]})
    row = rawsql.one(
        f"SELECT {rawsql.columns(models.Tester, 't')} FROM {rawsql.table(models.Tester)} t WHERE t.id = %s",
        [cast.tester.id],
    )
    tester = models.Tester.objects.get(pk=cast.tester.id)
    assert fields_of(rawsql.load(models.Tester, row)) == fields_of(tester)


def test_ingested_results_read_back_through_the_orm(cast, tmp_path):
    job = submit(cast).jobs.get()
    claim(cast, job)
    upload(cast, job, evaluate(fetch(cast, job).content, tmp_path))
    job.refresh_from_db()
    assert job.state == Job.DONE and job.verdict == "AC" and job.points == 10
    assert job.result_archive.name.endswith(f"job-{job.id}-attempt-1.zip")
    assert job.finished_at >= job.result_received_at >= job.claimed_at
    rows = TestResult.objects.filter(job=job).order_by("order")
    assert [t.verdict for t in rows] == ["AC"] * 4
    assert all(t.cpu_time_s is not None and t.visible in (True, False) for t in rows)
    tester = models.Tester.objects.get(pk=cast.tester.id)
    assert tester.jobs_done == 1 and tester.busy_seconds > 0
