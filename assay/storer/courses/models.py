"""Courses, their members and their repository of assignment packages (versioned)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Course(models.Model):
    slug = models.SlugField(unique=True)
    title = models.CharField(max_length=200)
    # the seed's per-course config file: sent to testers as the bundle's course_config
    config = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.slug


class Membership(models.Model):
    STUDENT, SUPERVISOR = "student", "supervisor"
    ROLES = [(STUDENT, "student"), (SUPERVISOR, "supervisor")]

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=20, choices=ROLES, default=STUDENT)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["course", "user"], name="one_membership_per_course")
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.role} of {self.course}"


class Assignment(models.Model):
    IMMEDIATE, ON_DEMAND = "immediate", "on_demand"
    EVALUATION_MODES = [(IMMEDIATE, "immediately"), (ON_DEMAND, "on demand")]
    # what students see of each test: only verdicts, full details of the package's visible
    # tests (input, expected and actual output), or everything
    DETAILS_VERDICTS, DETAILS_VISIBLE, DETAILS_ALL = "verdicts", "visible", "all"
    DETAILS = [
        (DETAILS_VERDICTS, "verdicts only"),
        (DETAILS_VISIBLE, "visible tests"),
        (DETAILS_ALL, "all tests"),
    ]

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="assignments")
    slug = models.SlugField()
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    deadline = models.DateTimeField(null=True, blank=True)
    points = models.FloatField(default=10)
    evaluation = models.CharField(max_length=20, choices=EVALUATION_MODES, default=IMMEDIATE)
    test_details = models.CharField(max_length=20, choices=DETAILS, default=DETAILS_VISIBLE)
    current_version = models.ForeignKey(
        "AssignmentVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # the names of the PACKAGE_SETTINGS the staff changed: theirs from then on, no publish
    # overwrites them (the others follow the published package)
    staff_settings = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    # settings a package gives (assignment.yaml / problem.yaml) until the staff change them
    PACKAGE_SETTINGS = ("title", "points", "evaluation", "description")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["course", "slug"], name="assignment_slug_per_course")
        ]

    def __str__(self) -> str:
        return f"{self.course.slug}/{self.slug}"

    @property
    def published(self) -> bool:
        return self.current_version_id is not None

    def set_by_staff(self, names: list[str] | tuple[str, ...]) -> None:
        """Record that the staff set these settings (saved by the caller)."""
        owned = set(self.staff_settings) | {n for n in names if n in self.PACKAGE_SETTINGS}
        self.staff_settings = sorted(owned)

    def deadline_passed(self, now=None) -> bool:
        return self.deadline is not None and (now or timezone.now()) > self.deadline


def package_path(version: AssignmentVersion, filename: str) -> str:
    a = version.assignment
    return f"courses/{a.course.slug}/repository/{a.slug}/v{version.number}.zip"


class AssignmentVersion(models.Model):
    """One uploaded package of an assignment, kept in the course's repository."""

    VALIDATING, VALID, INVALID, PUBLISHED = "validating", "valid", "invalid", "published"
    STATES = [(s, s) for s in (VALIDATING, VALID, INVALID, PUBLISHED)]

    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    package = models.FileField(upload_to=package_path, max_length=300)
    format = models.CharField(max_length=20)  # assay | kattis
    # what the storer needs without opening the package: limits, groups, tests, points …
    meta = models.JSONField(default=dict)
    state = models.CharField(max_length=20, choices=STATES, default=VALIDATING)
    validation = models.JSONField(default=dict, blank=True)  # the `assay check` report
    publish_when_valid = models.BooleanField(default=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["assignment", "number"], name="version_number")
        ]
        ordering = ["assignment", "number"]

    def __str__(self) -> str:
        return f"{self.assignment} v{self.number}"
