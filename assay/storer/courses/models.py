"""Courses, their members and their repository of assignment packages (versioned)."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone


def default_time_zone() -> str:
    return str(getattr(settings, "ASSAY_DEFAULT_TIME_ZONE", None) or settings.TIME_ZONE or "UTC")


def validate_time_zone(name: str) -> None:
    """An IANA time zone name (Europe/Prague, America/New_York, UTC)."""
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError) as e:
        raise ValidationError(
            f"{name!r} is not a time zone; use an IANA name such as Europe/Prague or UTC"
        ) from e


class Course(models.Model):
    slug = models.SlugField(unique=True)
    title = models.CharField(max_length=200)
    # the seed's per-course config file: sent to testers as the bundle's course_config
    config = models.JSONField(default=dict, blank=True)
    # where the course happens: every time on its pages is shown, and typed, in this zone
    time_zone = models.CharField(
        max_length=64, default=default_time_zone, validators=[validate_time_zone],
        help_text="An IANA time zone name, e.g. Europe/Prague; the course's pages show times in it.",
    )  # fmt: skip
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.slug

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        try:
            return zoneinfo.ZoneInfo(self.time_zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
            return zoneinfo.ZoneInfo("UTC")


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
    # which of a student's evaluated submissions gives the grade (courses/rules.py)
    COUNTS_LAST, COUNTS_BEST = "last", "best"
    COUNTS = [(COUNTS_LAST, "the last evaluated submission"), (COUNTS_BEST, "the best one")]
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
    # the rules of issue 11 part 5 (courses/rules.py applies them; docs/deadlines.md)
    release_at = models.DateTimeField(null=True, blank=True)  # students see nothing before
    deadline = models.DateTimeField(null=True, blank=True)  # the first deadline
    # between the deadlines a submission is late and its points are multiplied by second_factor
    second_deadline = models.DateTimeField(null=True, blank=True)
    second_factor = models.FloatField(default=0.5)
    max_submissions = models.PositiveIntegerField(null=True, blank=True)  # a student's own
    counts = models.CharField(max_length=10, choices=COUNTS, default=COUNTS_BEST)
    # hidden from the students' course page, still readable; no new submissions
    archived = models.BooleanField(default=False)
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

    def released(self, now: dt.datetime | None = None) -> bool:
        """Published and past its release date: what students may see."""
        return self.published and (
            self.release_at is None or self.release_at <= (now or timezone.now())
        )

    def clean(self) -> None:
        """The rules' settings together: errors name the field."""
        errors: dict[str, str] = {}
        if self.second_deadline is not None:
            if self.deadline is None:
                errors["second_deadline"] = "A second deadline needs a (first) deadline."
            elif self.second_deadline <= self.deadline:
                errors["second_deadline"] = "The second deadline must come after the first."
        if not 0 <= self.second_factor <= 1:
            errors["second_factor"] = (
                "The factor must be between 0 and 1 (e.g. 0.5: half the points)."
            )
        if self.max_submissions is not None and self.max_submissions < 1:
            errors["max_submissions"] = "At least 1 submission, or empty for no limit."
        if self.release_at and self.deadline and self.deadline <= self.release_at:
            errors["deadline"] = "The deadline must come after the release date."
        if errors:
            raise ValidationError(errors)


class Extension(models.Model):
    """A student's own deadlines for an assignment, given by the staff: they replace the
    assignment's for that student (courses/rules.py)."""

    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="extensions")
    student = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="extensions"
    )
    deadline = models.DateTimeField()
    second_deadline = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=200, blank=True)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["assignment", "student"], name="one_extension_per_student"
            )
        ]

    def __str__(self) -> str:
        return f"extension of {self.student} for {self.assignment}"

    def clean(self) -> None:
        if self.second_deadline is not None and self.second_deadline <= self.deadline:
            raise ValidationError(
                {"second_deadline": "The second deadline must come after the first."}
            )


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
