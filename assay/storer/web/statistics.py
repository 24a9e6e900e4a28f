"""The staff's statistics pages: an assignment's statistics (evaluation/statistics.py: the score
distribution, the pass rate of each test and the tests failed most, the time to the first
accepted submission, the submissions per day) and a course's progress per student
(evaluation/overview.py), each drawn as SVG charts beside tables of their numbers, and each
section as a CSV file. ``?group=`` chooses one group's students everywhere."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zoneinfo
from collections.abc import Iterable, Sequence
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from assay.storer.courses.models import Assignment, Course
from assay.storer.evaluation import overview
from assay.storer.evaluation.statistics import Statistics, assignment_statistics
from assay.storer.groups import services as group_services
from assay.storer.groups.models import Group

from .charts import bar_chart, stacked_chart
from .grades import _group, _group_context, _published
from .paging import page_of
from .staff import supervisor_required
from .views import assignment_or_404

MOST_FAILED_DRAWN = 15  # tests in the chart of the tests failed most (the table has them all)


def hours_text(hours: float | None) -> str:
    """A duration for people: minutes under an hour, hours under two days, then days."""
    if hours is None:
        return ""
    if hours < 1:
        return f"{round(hours * 60)} min"
    if hours < 48:
        return f"{hours:.1f} h"
    return f"{hours / 24:.1f} days"


def _students(n: int) -> str:
    return f"{n} student{'' if n == 1 else 's'}"


def _distribution(found: Statistics) -> dict[str, Any]:
    top = max((b.count for b in found.distribution), default=0) or 1
    rows = [
        {"low": b.low, "high": b.high, "count": b.count, "height": round(100 * b.count / top)}
        for b in found.distribution
    ]
    chart = bar_chart(
        "chart-distribution",
        f"Score distribution of {_students(found.students)}",
        f"How many students' grades fall in each tenth of the points: {', '.join(f'{b.low:g} to {b.high:g} points: {b.count}' for b in found.distribution)}.",
        "points (from)",
        [
            (f"{b.low:g}", b.count, f"{b.low:g}–{b.high:g} points: {_students(b.count)}")
            for b in found.distribution
        ],
    )
    return {"rows": rows, "chart": chart}


def _accepted(found: Statistics) -> dict[str, Any] | None:
    t = found.accepted
    if t is None:
        return None
    q = t.quartiles
    chart = bar_chart(
        "chart-accepted",
        "Time to the first accepted submission",
        "Students by the time their first accepted submission took: "
        + ", ".join(f"{b.label}: {b.count}" for b in t.buckets)
        + ".",
        "time to the first accepted submission",
        [(b.label, b.count, f"{b.label}: {_students(b.count)}") for b in t.buckets],
    )
    return {
        "t": t,
        "chart": chart,
        "submitted": len(t.students),
        "median": hours_text(q[1]) if q else "",
        "q1": hours_text(q[0]) if q else "",
        "q3": hours_text(q[2]) if q else "",
    }


def _days(found: Statistics) -> dict[str, Any] | None:
    d = found.days
    if d is None:
        return None
    marks: dict[float, str] = {}  # each deadline's line, at its time of the day
    for i, day in enumerate(d.days):
        for due, shown, label in (
            (d.deadline, day.deadline, "deadline"),
            (d.second_deadline, day.second_deadline, "second deadline"),
        ):
            if shown and due is not None:
                local = due.astimezone(zoneinfo.ZoneInfo(d.time_zone))
                marks[i + (local.hour * 3600 + local.minute * 60) / 86400] = label
    chart = bar_chart(
        "chart-days",
        "Submissions per day",
        f"Submissions of each day in {d.time_zone}, from {d.days[0].date:%Y-%m-%d} to "
        f"{d.days[-1].date:%Y-%m-%d}: {d.in_time} in time and {d.late} after the deadline"
        f"{f' ({d.deadline.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC)' if d.deadline else ''}; "
        f"the busiest day: {max(d.days, key=lambda x: x.submissions).date:%Y-%m-%d}."
        if d.days
        else "No submissions yet.",
        f"day ({d.time_zone})",
        [
            (
                f"{day.date:%b %-d}",
                day.submissions,
                f"{day.date:%Y-%m-%d}: {day.submissions} submission{'' if day.submissions == 1 else 's'} by {_students(day.students)}",
            )
            for day in d.days
        ],
        css=["after" if day.after_deadline else "" for day in d.days],
        marks=marks,
    )
    return {"d": d, "chart": chart}


def _failed(found: Statistics) -> dict[str, Any]:
    drawn = found.failed[:MOST_FAILED_DRAWN]
    chart = bar_chart(
        "chart-failed",
        "Tests failed by the most students",
        "Students whose counted submission failed each test, most first: "
        + ", ".join(f"test {f.name}: {f.failed} of {f.runs}, mostly {f.verdict}" for f in drawn)
        + ".",
        "test",
        [
            (
                f.name if len(f.name) <= 10 else f.name[:9] + "…",
                f.failed,
                f"test {f.name}: failed by {f.failed} of {f.runs} (mostly {f.verdict})",
            )
            for f in drawn
        ],
        css=["failed"] * len(drawn),
    )
    return {"rows": found.failed, "chart": chart}


@supervisor_required
def stats(request: HttpRequest, course: Course, assignment_slug: str) -> HttpResponse:
    """Students, not submissions (evaluation/statistics.py), drawn and in tables; each section
    also as a CSV file (``stats_csv``)."""
    a = assignment_or_404(course, assignment_slug, request.user)
    chosen = _group_context(request, course)
    found = assignment_statistics(a, chosen["group"])
    context = {
        "course": course, "a": a, "tests": found.tests, "students": found.students,
        "enrolled": found.enrolled, "counts": a.get_counts_display(),
        "distribution": _distribution(found), "accepted": _accepted(found),
        "days": _days(found), "failed": _failed(found), "sections": SECTIONS, **chosen,
    }  # fmt: skip
    return render(request, "web/stats.html", context)


def _csv(name: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> HttpResponse:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    writer.writerows(rows)
    response = HttpResponse(buf.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def _local(when: dt.datetime | None, course: Course) -> str:
    return "" if when is None else when.astimezone(course.tz).isoformat(timespec="seconds")


def _section_rows(section: str, a: Assignment, found: Statistics) -> tuple[list[str], list[Any]]:
    if section == "distribution":
        return ["low", "high", "students"], [
            [_num(b.low), _num(b.high), b.count] for b in found.distribution
        ]
    if section == "tests":
        return ["test", "passed", "runs", "rate"], [
            [t.name, t.passed, t.runs, f"{t.rate:.4g}"] for t in found.tests
        ]
    if section == "failed-tests":
        return ["test", "failed", "runs", "most common verdict", "its count", "verdicts"], [
            [
                f.name, f.failed, f.runs, f.verdict, f.verdict_count,
                "; ".join(f"{v} {n}" for v, n in sorted(f.verdicts.items(), key=lambda kv: (-kv[1], kv[0]))),
            ]
            for f in found.failed
        ]  # fmt: skip
    if section == "first-accepted":
        t = found.accepted
        header = ["student", "counted from", "first submission", "first accepted", "hours", "submissions"]  # fmt: skip
        return header, [
            [
                found.roster.get(s.student_id, ""), _local(s.start, a.course),
                _local(s.first_submission, a.course), _local(s.accepted_at, a.course),
                "" if s.hours is None else f"{s.hours:.2f}", s.submissions_before,
            ]
            for s in (t.students if t else [])
        ]  # fmt: skip
    d = found.days  # per-day
    return ["date", "submissions", "students", "deadline"], [
        [
            day.date.isoformat(), day.submissions, day.students,
            "deadline" if day.deadline else "second deadline" if day.second_deadline else "",
        ]
        for day in (d.days if d else [])
    ]  # fmt: skip


# the CSV files of an assignment's statistics: their names, and the links' texts
SECTIONS = {
    "distribution": "the score distribution",
    "tests": "the pass rate of each test",
    "failed-tests": "the tests failed most",
    "first-accepted": "each student's time to the first accepted submission",
    "per-day": "the submissions per day",
}


@supervisor_required
def stats_csv(
    request: HttpRequest, course: Course, assignment_slug: str, section: str
) -> HttpResponse:
    """One section of the statistics page as CSV (``SECTIONS``), for the same group."""
    if section not in SECTIONS:
        raise Http404("no such section of the statistics")
    a = assignment_or_404(course, assignment_slug, request.user)
    group = _group(request, course)
    found = assignment_statistics(a, group)
    header, rows = _section_rows(section, a, found)
    suffix = f"-group{group.id}" if group else ""
    return _csv(f"{course.slug}-{a.slug}-{section}{suffix}", header, rows)


# -- a course's progress per student --------------------------------------------------------


def _progress(course: Course, group: Group | None) -> tuple[list[Assignment], list[overview.Row]]:
    assignments = _published(course)
    roster = list(group_services.students(course, group))
    return assignments, overview.progress(course, assignments, roster)


@supervisor_required
def progress(request: HttpRequest, course: Course) -> HttpResponse:
    """Every student of the course (or the group) in pages of 50, a cell per published
    assignment; above, how many students stand where in each assignment (all of them, not a
    page's), drawn and in a table. A fixed number of queries."""
    chosen = _group_context(request, course)
    assignments, rows = _progress(course, chosen["group"])
    columns = overview.columns(assignments, rows)
    chart = stacked_chart(
        "chart-progress",
        "Where the students stand in each assignment",
        "For each assignment, how many of the "
        + _students(len(rows))
        + " are in each state: "
        + "; ".join(
            f"{c.assignment.title}: "
            + ", ".join(f"{overview.LABELS[s]} {c.counts[s]}" for s in overview.STATUSES)
            for c in columns
        )
        + ".",
        [
            (
                c.assignment.title,
                [
                    (
                        f"st-{s}",
                        c.counts[s],
                        f"{c.assignment.title}: {overview.LABELS[s]}, {_students(c.counts[s])}",
                    )
                    for s in overview.STATUSES
                ],
            )
            for c in columns
        ],  # fmt: skip
        len(rows),
    )
    context = {
        "course": course, "assignments": assignments, "chart": chart,
        "column_rows": [(c.assignment, [c.counts[s] for s in overview.STATUSES]) for c in columns],
        "statuses": [(s, overview.LABELS[s]) for s in overview.STATUSES],
        "students": len(rows), **page_of(request, rows), **chosen,
    }  # fmt: skip
    return render(request, "web/progress.html", context)


@supervisor_required
def progress_csv(request: HttpRequest, course: Course) -> HttpResponse:
    """Every student: each assignment's points, status and late mark; the total and the number
    accepted."""
    group = _group(request, course)
    assignments, rows = _progress(course, group)
    header = ["student"]
    for a in assignments:
        header += [f"{a.slug} points", f"{a.slug} status", f"{a.slug} late"]
    lines = []
    for r in rows:
        line: list[Any] = [r.username]
        for c in r.cells:
            line += [_num(c.points), c.label, "late" if c.late else ""]
        lines.append([*line, _num(r.total), r.accepted])
    suffix = f"-group{group.id}" if group else ""
    return _csv(f"{course.slug}-progress{suffix}", [*header, "total", "accepted"], lines)
