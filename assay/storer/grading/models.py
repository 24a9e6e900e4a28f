"""What the staff add to the automatic points of a student's assignment (``evaluation.grades``
reads them for every grade the pages, the CSV and the API show)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from assay.storer.courses.models import Assignment

MAX_REASON_CHARS = 2000
MAX_POINTS = 1e6  # any points field, either sign


class RubricItem(models.Model):
    """A criterion the staff award by hand on top of the automatic points ("Readable names",
    2 points): awarded in full (checked) or in part, per student."""

    assignment = models.ForeignKey(
        Assignment, on_delete=models.CASCADE, related_name="rubric_items"
    )
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, max_length=MAX_REASON_CHARS)
    points = models.FloatField()  # the most it gives (> 0)
    order = models.PositiveIntegerField(default=0)  # shown by order, then by creation

    class Meta:
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return f"{self.title} ({self.points:g}) of {self.assignment}"


class Adjustment(models.Model):
    """The staff's changes to one student's grade for one assignment."""

    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="+")
    student = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    # these points instead of the automatic ones (None: the automatic ones count)
    override = models.FloatField(null=True, blank=True)
    override_reason = models.TextField(blank=True, max_length=MAX_REASON_CHARS)
    # added on top; negative: a penalty
    bonus = models.FloatField(default=0.0)
    bonus_reason = models.TextField(blank=True, max_length=MAX_REASON_CHARS)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["assignment", "student"], name="grading_one_adjustment_per_student"
            )
        ]

    def __str__(self) -> str:
        return f"adjustment of {self.student_id} on {self.assignment_id}"


class RubricAward(models.Model):
    """The points a student got for one rubric item (0 to the item's points)."""

    adjustment = models.ForeignKey(Adjustment, on_delete=models.CASCADE, related_name="awards")
    item = models.ForeignKey(RubricItem, on_delete=models.CASCADE, related_name="awards")
    points = models.FloatField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["adjustment", "item"], name="grading_one_award_per_item"
            )
        ]


class AdjustmentChange(models.Model):
    """One save that changed something: who, when, and each changed value as [before, after]
    (``{"override": [null, 8], "rubric: Style": [0, 2]}``)."""

    adjustment = models.ForeignKey(Adjustment, on_delete=models.CASCADE, related_name="changes")
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    changed_at = models.DateTimeField(default=timezone.now)
    changes = models.JSONField(default=dict)

    class Meta:
        ordering = ["-changed_at", "-id"]
