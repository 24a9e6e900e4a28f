"""Similarity runs (issue 13): a comparison of an assignment's latest submissions (with past
years' archives, without the teacher's base code) asked for by its staff, and the pairs it found,
most similar first. The database is the source of truth of a run's state: queued -> running ->
done | failed, claimed by a conditional update (runner.py)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from assay.storer.courses.models import Assignment
from assay.storer.evaluation.models import Submission


def upload_path(instance: SimilarityRun, filename: str) -> str:
    a = instance.assignment
    return f"similarity/{a.course.slug}/{a.slug}/{timezone.now():%Y%m%d%H%M%S}-{filename}"


class SimilarityRun(models.Model):
    QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
    STATES = [(s, s) for s in (QUEUED, RUNNING, DONE, FAILED)]
    FINAL = (DONE, FAILED)

    assignment = models.ForeignKey(
        Assignment, on_delete=models.CASCADE, related_name="similarity_runs"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    state = models.CharField(max_length=10, choices=STATES, default=QUEUED)
    # progress: the engine's stage (tokenising, comparing) and how far it is in it
    stage = models.CharField(max_length=20, blank=True)
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    attempt = models.PositiveSmallIntegerField(default=0)  # claims so far
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)  # the runner's last sign of life
    finished_at = models.DateTimeField(null=True, blank=True)
    # past years' submissions: a zip with a folder per author (compared with this year's only)
    archive = models.FileField(upload_to=upload_path, max_length=400, blank=True)
    # the teacher's base code (a source file or a zip of them): what matches it counts for nobody
    base_code = models.FileField(upload_to=upload_path, max_length=400, blank=True)
    base_name = models.CharField(max_length=255, blank=True)  # as uploaded (its lexer)
    submissions = models.PositiveIntegerField(default=0)  # this year's documents compared
    archived = models.PositiveIntegerField(default=0)  # past years' documents compared
    candidates = models.PositiveIntegerField(default=0)  # pairs tiled
    without_code = models.JSONField(default=list, blank=True)  # documents with no source file
    options = models.JSONField(default=dict, blank=True)  # the engine's options, as run
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"similarity run {self.id} of {self.assignment}"


class SimilarityPair(models.Model):
    """Two documents of a run with their score and matched regions; a side is a submission of
    this year or a past year's author (``*_archived``: the folder's name in the archive)."""

    run = models.ForeignKey(SimilarityRun, on_delete=models.CASCADE, related_name="pairs")
    rank = models.PositiveIntegerField()  # 1: the most similar
    a_submission = models.ForeignKey(
        Submission, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    a_archived = models.CharField(max_length=255, blank=True)
    b_submission = models.ForeignKey(
        Submission, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    b_archived = models.CharField(max_length=255, blank=True)
    similarity = models.FloatField()  # 2 · matched / (tokens of a + tokens of b)
    coverage_a = models.FloatField()  # matched / tokens of a
    coverage_b = models.FloatField()
    matched = models.PositiveIntegerField()  # tokens
    # [{"a_file", "a_first", "a_last", "b_file", "b_first", "b_last", "tokens"}] by a's position
    regions = models.JSONField(default=list)

    class Meta:
        ordering = ["run", "rank"]
        constraints = [models.UniqueConstraint(fields=["run", "rank"], name="one_pair_per_rank")]

    def __str__(self) -> str:
        return f"pair {self.rank} of run {self.run_id}"
