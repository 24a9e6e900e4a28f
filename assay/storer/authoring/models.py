"""A draft: the working copy of one assignment's package, file by file, in the database (it
survives a restart and is saved with each edit; one draft per assignment)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from assay.storer.courses.models import Assignment


class Draft(models.Model):
    assignment = models.OneToOneField(Assignment, on_delete=models.CASCADE, related_name="draft")
    # where the files came from: "template sum-c", "version 3"
    origin = models.CharField(max_length=100)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    # the version the last build made (None: not built since the draft began)
    built_version = models.PositiveIntegerField(null=True, blank=True)

    def __str__(self) -> str:
        return f"draft of {self.assignment}"


class DraftFile(models.Model):
    """One file of the draft's package, at its path inside the package (``tests/1/input``)."""

    draft = models.ForeignKey(Draft, on_delete=models.CASCADE, related_name="files")
    path = models.CharField(max_length=300)
    content = models.BinaryField()
    size = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["draft", "path"], name="draft_file_path")]
        ordering = ["path"]

    def __str__(self) -> str:
        return self.path
