"""Template tags for parts the assignment page shows without its view knowing them: the
student's own adjusted grade (manual grading) and what to submit (languages, files, limits)."""

from __future__ import annotations

from typing import Any

from django import template

from assay.storer.courses.models import Assignment, Membership
from assay.storer.courses.permissions import role
from assay.storer.grading import services
from assay.storer.languages import submission_rules

register = template.Library()


@register.inclusion_tag("web/partials/your_grade.html", takes_context=True)
def your_grade(context: dict[str, Any], a: Assignment) -> dict[str, Any]:
    """The user's own grade when the staff adjusted it (students only; nobody else's)."""
    user = context["request"].user
    if role(user, a.course) != Membership.STUDENT or not services.has_adjustment(a, user.pk):
        return {"doc": None}
    doc = services.sheet(a, user, user)
    return {"doc": doc if doc["adjusted"] else None, "course": a.course, "a": a}


@register.inclusion_tag("web/partials/submission_rules.html")
def what_to_submit(a: Assignment) -> dict[str, Any]:
    v = a.current_version
    meta = v.meta if v else None
    limits = dict((meta or {}).get("limits") or {})
    if limits and limits.get("wall_time_s") is None:  # the sandbox's default
        limits["wall_time_s"] = 2 * limits.get("cpu_time_s", 1.0) + 1.0
    return {"rules": submission_rules(meta), "meta": meta or {}, "limits": limits, "a": a}
