"""Submissions, evaluation jobs (the database is the source of truth of every job's state),
per-test results, and the testers with their credentials."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

from assay.storer.accounts.models import hash_token
from assay.storer.courses.models import Assignment, AssignmentVersion


class Tester(models.Model):
    """A tester machine or process, with its own credential and what it offers."""

    PREFIX = "tst_"

    name = models.CharField(max_length=100, unique=True)
    token_hash = models.CharField(max_length=64, unique=True)
    runtimes = models.JSONField(default=list, blank=True)  # empty: every runtime
    # runtime -> the first line of its version command, as the tester's sandbox printed it
    runtime_versions = models.JSONField(default=dict, blank=True)
    # the course images it offers, as name@version (empty: none)
    images = models.JSONField(default=list, blank=True)
    # name@version -> the runtimes that work inside that image (an older tester: none said)
    image_runtimes = models.JSONField(default=dict, blank=True)
    pool = models.CharField(max_length=50, default="default")
    slots = models.PositiveIntegerField(default=1)
    revoked = models.BooleanField(default=False)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    jobs_done = models.PositiveIntegerField(default=0)
    busy_seconds = models.FloatField(default=0.0)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.name

    @classmethod
    def register(cls, name: str, **fields) -> tuple[Tester, str]:
        """Create the tester, or give an existing one a new credential (the old one stops working)."""
        token = cls.PREFIX + secrets.token_urlsafe(32)
        tester, _ = cls.objects.update_or_create(
            name=name, defaults={"token_hash": hash_token(token), "revoked": False, **fields}
        )
        return tester, token


def submission_file_path(instance: SubmissionFile, filename: str) -> str:
    s = instance.submission
    return f"submissions/{s.assignment.course.slug}/{s.assignment.slug}/{s.id}/{instance.name}"


class Submission(models.Model):
    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="submissions")
    version = models.ForeignKey(
        AssignmentVersion, on_delete=models.PROTECT, related_name="submissions"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="submissions"
    )
    # who uploaded it: the author, or a supervisor/administrator submitting for them
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    runtime = models.CharField(max_length=30)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"submission {self.id} of {self.author} for {self.assignment}"

    @property
    def cross_submitted(self) -> bool:
        return self.submitted_by_id is not None and self.submitted_by_id != self.author_id

    def latest_job(self) -> Job | None:
        return self.jobs.order_by("-id").first()


class SubmissionFile(models.Model):
    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="files")
    name = models.CharField(max_length=255)
    file = models.FileField(upload_to=submission_file_path, max_length=400)
    size = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["submission", "name"], name="file_name_per_submission")
        ]


def result_path(job: Job, filename: str) -> str:
    return f"results/job-{job.id}-attempt-{job.attempt}.zip"


class Job(models.Model):
    """One evaluation of a submission (or one validation of a package version).

    States: queued -> running -> done | failed. A job whose tester is lost goes back to queued
    with attempt + 1 (at most MAX_EVALUATION_ATTEMPTS in a series); anything reported for an
    older attempt is ignored, so exactly one result counts. The attempt number only grows (it
    fences stale results); an administrator's retry starts a new series at the next attempt
    (``series_start``), with a full budget of attempts again.
    """

    EVALUATION, VALIDATION = "evaluation", "validation"
    KINDS = [(EVALUATION, "evaluation"), (VALIDATION, "validation")]
    QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
    STATES = [(s, s) for s in (QUEUED, RUNNING, DONE, FAILED)]
    FINAL = (DONE, FAILED)

    kind = models.CharField(max_length=20, choices=KINDS, default=EVALUATION)
    submission = models.ForeignKey(
        Submission, null=True, blank=True, on_delete=models.CASCADE, related_name="jobs"
    )
    version = models.ForeignKey(AssignmentVersion, on_delete=models.CASCADE, related_name="jobs")
    queue = models.CharField(max_length=100)  # the broker queue: assay.<pool>.<runtime>
    state = models.CharField(max_length=20, choices=STATES, default=QUEUED, db_index=True)
    attempt = models.PositiveIntegerField(default=1)
    series_start = models.PositiveIntegerField(default=1)  # the first attempt of this series

    @property
    def attempts_used(self) -> int:
        """Attempts of the current series, this one included."""
        return self.attempt - self.series_start + 1

    tester = models.ForeignKey(
        Tester, null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    batch = models.CharField(max_length=40, blank=True, db_index=True)  # a "re-evaluate all" run
    # the step timestamps (docs/performance.md measures with them)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    queued_at = models.DateTimeField(default=timezone.now)
    dispatched_at = models.DateTimeField(
        null=True, blank=True
    )  # the last message sent to the broker
    claimed_at = models.DateTimeField(null=True, blank=True)
    bundle_sent_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    result_received_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    steps = models.JSONField(default=dict, blank=True)  # the tester's own timings
    error = models.TextField(blank=True)
    verdict = models.CharField(max_length=10, blank=True)
    score = models.FloatField(null=True, blank=True)  # fraction 0..1
    points = models.FloatField(null=True, blank=True)
    max_points = models.FloatField(null=True, blank=True)
    build = models.JSONField(default=dict, blank=True)
    # per group: name, scoring, points, max_points (in the assignment's points)
    groups = models.JSONField(default=list, blank=True)
    # while running: {attempt, tests_done, tests_total}, as the tester's heartbeats report it
    progress = models.JSONField(default=dict, blank=True)
    report = models.JSONField(default=dict, blank=True)  # validation: the `assay check` report
    result_archive = models.FileField(upload_to=result_path, null=True, blank=True, max_length=300)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"job {self.id} ({self.kind}, {self.state}, attempt {self.attempt})"


class TestResult(models.Model):
    __test__ = False  # not a pytest test class

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="tests")
    order = models.PositiveIntegerField()
    name = models.CharField(max_length=200)
    group = models.CharField(max_length=100)
    visible = models.BooleanField(default=False)
    status = models.CharField(max_length=4, blank=True)
    exit_code = models.IntegerField(null=True, blank=True)
    signal = models.IntegerField(null=True, blank=True)
    cpu_time_s = models.FloatField(null=True, blank=True)
    wall_time_s = models.FloatField(null=True, blank=True)
    memory_kib = models.IntegerField(null=True, blank=True)
    verdict = models.CharField(max_length=10)
    score = models.FloatField(default=0.0)
    # the test's share of the assignment's points; None in an all-or-nothing group
    points = models.FloatField(null=True, blank=True)
    max_points = models.FloatField(null=True, blank=True)
    message = models.TextField(blank=True)  # the sandbox's
    judge_message = models.TextField(blank=True)  # for the staff: may quote the expected output
    student_message = models.TextField(blank=True)  # never quotes the expected output
    stderr_head = models.TextField(blank=True)  # a crashed visible test's stderr (first KiB)

    class Meta:
        ordering = ["job", "order"]
        constraints = [models.UniqueConstraint(fields=["job", "name"], name="test_name_per_job")]
