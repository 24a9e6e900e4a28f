"""Groups of a course's students: labs (a supervisor each; grades and statistics per group) and
teams (their members share the submissions of a team assignment)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from assay.storer.courses.models import Assignment, Course
from assay.storer.evaluation.models import Submission


class Group(models.Model):
    LAB, TEAM = "lab", "team"
    KINDS = [(LAB, "lab group"), (TEAM, "team")]

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="groups")
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=10, choices=KINDS, default=LAB)
    # the course's supervisors in charge of this group
    supervisors = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="supervised_groups"
    )
    # the course's students in it (a student is in at most one team of a course)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="course_groups"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["course", "name"], name="group_name_per_course")
        ]

    def __str__(self) -> str:
        return f"{self.course.slug}: {self.name}"


class TeamAssignment(models.Model):
    """An assignment whose submissions are team submissions: a submission by a member of a team
    is shared with the team's other members (their lists, their grades)."""

    assignment = models.OneToOneField(
        Assignment, on_delete=models.CASCADE, primary_key=True, related_name="teams"
    )

    def __str__(self) -> str:
        return f"{self.assignment} in teams"


class SharedSubmission(models.Model):
    """A team member (not the author) who shares a submission: recorded when it is made, so that
    a later change of the team changes nobody's past grades."""

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="shares")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="shared_submissions"
    )
    group = models.ForeignKey(Group, on_delete=models.SET_NULL, null=True, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["submission", "user"], name="one_share_per_member")
        ]

    def __str__(self) -> str:
        return f"submission {self.submission_id} shared with {self.user_id}"
