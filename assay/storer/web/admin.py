"""Django admin for the rare operations (users, courses, memberships, testers, jobs)."""

from django.contrib import admin

from assay.storer.courses.models import (
    Assignment,
    AssignmentVersion,
    Course,
    Extension,
    Membership,
)
from assay.storer.evaluation.models import Job, Submission, Tester


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1


@admin.register(Course)
class CourseAdmin(admin.ModelAdmin):
    list_display = ("slug", "title", "time_zone", "created_at")
    inlines = [MembershipInline]


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = (
        "course",
        "slug",
        "title",
        "release_at",
        "deadline",
        "second_deadline",
        "second_factor",
        "max_submissions",
        "counts",
        "archived",
        "points",
        "evaluation",
        "current_version",
    )
    list_filter = ("course", "archived")


@admin.register(Extension)
class ExtensionAdmin(admin.ModelAdmin):
    """A student's own deadlines (courses/rules.py)."""

    list_display = ("assignment", "student", "deadline", "second_deadline", "granted_by")
    list_filter = ("assignment__course",)
    raw_id_fields = ("student", "granted_by")


@admin.register(AssignmentVersion)
class VersionAdmin(admin.ModelAdmin):
    list_display = ("assignment", "number", "format", "state", "created_at")
    readonly_fields = ("meta", "validation")


@admin.register(Submission)
class SubmissionAdmin(admin.ModelAdmin):
    list_display = ("id", "assignment", "author", "submitted_by", "runtime", "created_at")
    list_filter = ("assignment__course",)


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "kind",
        "state",
        "attempt",
        "queue",
        "tester",
        "verdict",
        "points",
        "created_at",
    )
    list_filter = ("state", "kind", "queue")


@admin.register(Tester)
class TesterAdmin(admin.ModelAdmin):
    list_display = ("name", "pool", "runtimes", "slots", "revoked", "last_seen_at", "jobs_done")
    exclude = ("token_hash",)
