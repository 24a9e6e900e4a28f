"""The grades page (students in pages, each cell linking to the submission that counts, late
ones marked) and its CSV (every student, a late column per assignment): both from
evaluation.grades.course_grades. The statistics pages are web/statistics.py."""

from __future__ import annotations

import csv
import io
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from assay.storer.courses.models import Assignment, Course
from assay.storer.evaluation.grades import Grade, course_grades
from assay.storer.groups import services as group_services
from assay.storer.groups.models import Group

from .paging import page_of
from .staff import supervisor_required


def _rows(
    course: Course, assignments: list[Assignment], students: list[tuple[int, str]]
) -> list[dict[str, Any]]:
    graded = course_grades(course, [a.id for a in assignments], [sid for sid, _ in students])
    rows = []
    for student_id, username in students:
        cells: list[Grade | None] = [graded.get((student_id, a.id)) for a in assignments]
        scores = [g.points if g else None for g in cells]
        rows.append(
            {
                "student": username,
                "cells": cells,
                "scores": scores,
                "total": sum(x for x in scores if x is not None),
            }
        )
    return rows


def _published(course: Course) -> list[Assignment]:
    return list(course.assignments.filter(current_version__isnull=False).order_by("id"))


def _group(request: HttpRequest, course: Course) -> Group | None:
    """The group ``?group=`` chooses (none: every student); another course's is a 404."""
    chosen = request.GET.get("group", "")
    if not chosen:
        return None
    if not chosen.isdigit():
        raise Http404("no such group")
    return get_object_or_404(Group, pk=int(chosen), course=course)


def _group_context(request: HttpRequest, course: Course) -> dict[str, Any]:
    group = _group(request, course)
    return {
        "group": group,
        "groups": list(Group.objects.filter(course=course).order_by("name")),
        "group_query": f"?group={group.id}" if group else "",
    }


@supervisor_required
def grades(request: HttpRequest, course: Course) -> HttpResponse:
    """50 students a page, at a fixed number of queries."""
    assignments = _published(course)
    chosen = _group_context(request, course)
    paged = page_of(request, group_services.students(course, chosen["group"]))
    rows = _rows(course, assignments, list(paged["page"]))
    context = {"course": course, "assignments": assignments, "rows": rows, **paged, **chosen}
    return render(request, "web/grades.html", context)


@supervisor_required
def grades_csv(request: HttpRequest, course: Course) -> HttpResponse:
    """Every student: the points of each assignment, and a ``<slug> late`` column saying
    ``late`` where the counted submission was late."""
    assignments = _published(course)
    rows = _rows(
        course, assignments, list(group_services.students(course, _group(request, course)))
    )
    buf = io.StringIO()
    writer = csv.writer(buf)
    header = ["student"]
    for a in assignments:
        header += [a.slug, f"{a.slug} late"]
    writer.writerow([*header, "total"])
    for r in rows:
        line = [r["student"]]
        for g in r["cells"]:
            points = g.points if g else None
            line += ["" if points is None else f"{points:g}", "late" if g and g.late else ""]
        writer.writerow([*line, f"{r['total']:g}"])
    response = HttpResponse(buf.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{course.slug}-grades.csv"'
    return response
