"""The staff's similarity pages (docs/similarity.md): start a comparison of an assignment's
latest submissions (with past years' archive and base code), follow its progress, read the
pairs most similar first, and each pair side by side with its matching regions highlighted in
the same colour on both sides. Supervisors of the course and administrators only."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.safestring import SafeString, mark_safe

from assay.storer.courses.models import Course
from assay.storer.evaluation.services import ServiceError
from assay.storer.similarity import services
from assay.storer.similarity.models import SimilarityPair, SimilarityRun

from .highlight import highlighted_lines
from .paging import page_of
from .staff import supervisor_required
from .views import assignment_or_404

COLOURS = 6  # match colours, in turn (web/similarity.css: .m0 … .m5)


class RunForm(forms.Form):
    archive = forms.FileField(
        required=False,
        label="Past years' submissions (optional)",
        help_text="A zip with a folder per author (2023/alice/main.c): compared with this "
        "year's submissions, not with each other.",
    )
    base_code = forms.FileField(
        required=False,
        label="Base code (optional)",
        help_text="The code you gave the students (a source file or a zip): what matches it "
        "counts for nobody.",
    )


def _upload(form: RunForm, field: str) -> tuple[str, bytes] | None:
    f = form.cleaned_data.get(field)
    return (f.name, f.read()) if f else None


@supervisor_required
def similarity(request: HttpRequest, course: Course, assignment_slug: str) -> HttpResponse:
    a = assignment_or_404(course, assignment_slug, request.user)
    form = RunForm(request.POST, request.FILES) if request.method == "POST" else RunForm()
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                run = services.start(
                    a, request.user, _upload(form, "archive"), _upload(form, "base_code")
                )
            except ServiceError as e:
                form.add_error(e.field if e.field in form.fields else None, e.message)
            else:
                messages.success(request, "Comparison started: its progress is below.")
                return redirect("web:similarity_run", course.slug, a.slug, run.id)
        status = 400
    runs = SimilarityRun.objects.filter(assignment=a).select_related("requested_by")[:20]
    context = {
        "course": course, "a": a, "form": form, "runs": runs,
        "authors": services.authors_count(a),
    }  # fmt: skip
    return render(request, "web/similarity.html", context, status=status)


def _run_or_404(request: HttpRequest, course: Course, assignment_slug: str, run_id: int) -> tuple[Any, SimilarityRun]:  # fmt: skip
    a = assignment_or_404(course, assignment_slug, request.user)
    return a, get_object_or_404(SimilarityRun, pk=run_id, assignment=a)


def percent(x: float) -> str:
    return f"{x * 100:.0f} %"


@supervisor_required
def similarity_run(
    request: HttpRequest, course: Course, assignment_slug: str, run_id: int
) -> HttpResponse:
    a, run = _run_or_404(request, course, assignment_slug, run_id)
    context: dict[str, Any] = {"course": course, "a": a, "run": run}
    if run.state == SimilarityRun.DONE:
        paged = page_of(request, services.ranked_pairs(run))
        context |= paged | {"rows": [_row(p) for p in paged["page"]]}
    return render(request, "web/similarity_run.html", context)


def _row(p: SimilarityPair) -> dict[str, Any]:
    return {
        "pair": p,
        "a": services.side_label(p.a_submission, p.a_archived),
        "b": services.side_label(p.b_submission, p.b_archived),
        "similarity": percent(p.similarity), "coverage_a": percent(p.coverage_a),
        "coverage_b": percent(p.coverage_b), "regions": len(p.regions),
    }  # fmt: skip


@supervisor_required
def similarity_progress(
    request: HttpRequest, course: Course, assignment_slug: str, run_id: int
) -> HttpResponse:
    """The progress part of a run's page (htmx, every second); once the run is over, the page
    is loaded again (with its results)."""
    a, run = _run_or_404(request, course, assignment_slug, run_id)
    response = render(
        request, "web/partials/similarity_progress.html", {"course": course, "a": a, "run": run}
    )
    if run.state in SimilarityRun.FINAL:
        response["HX-Refresh"] = "true"
    return response


@supervisor_required
def similarity_pair(
    request: HttpRequest, course: Course, assignment_slug: str, run_id: int, rank: int
) -> HttpResponse:
    a, run = _run_or_404(request, course, assignment_slug, run_id)
    pair = get_object_or_404(services.ranked_pairs(run), rank=rank)
    regions = [r | {"number": n, "colour": (n - 1) % COLOURS} for n, r in enumerate(pair.regions, start=1)]  # fmt: skip
    sides = []
    for side, submission, archived in (
        ("a", pair.a_submission, pair.a_archived),
        ("b", pair.b_submission, pair.b_archived),
    ):
        files = services.side_files(run, submission, archived)
        other = "b" if side == "a" else "a"
        shown = [
            {"name": name, "html": _marked_code(name, text, f"{side}{n}", side, other, regions)}
            for n, (name, text) in enumerate(files, start=1)
            if any(r[f"{side}_file"] == name for r in regions)
        ]  # fmt: skip
        sides.append({
            "side": side, "label": services.side_label(submission, archived),
            "submission": submission, "files": shown,
            "coverage": percent(pair.coverage_a if side == "a" else pair.coverage_b),
        })  # fmt: skip
    context = {
        "course": course, "a": a, "run": run, "pair": pair, "sides": sides, "regions": regions,
        "similarity": percent(pair.similarity),
        "previous": pair.rank - 1 if pair.rank > 1 else None,
        "next": pair.rank + 1 if run.pairs.filter(rank=pair.rank + 1).exists() else None,
    }  # fmt: skip
    return render(request, "web/similarity_pair.html", context)


def _marked_code(
    name: str, text: str, anchor: str, side: str, other: str, regions: list[dict[str, Any]]
) -> SafeString:
    """The file highlighted as the code view does, each line of a matching region in its
    region's colour, the region's first line with its number linking to the other side."""
    mine = [r for r in regions if r[f"{side}_file"] == name]
    out = ['<pre class="hl"><code>']
    for n, line in enumerate(highlighted_lines(name, text), start=1):
        region = next((r for r in mine if r[f"{side}_first"] <= n <= r[f"{side}_last"]), None)
        ident = f"{anchor}-L{n}"  # line n of this side's file: a2-L12
        css = f"line m{region['colour']}" if region else "line"
        marker = ""
        if region and n == region[f"{side}_first"]:
            number = region["number"]
            marker = (
                f'<a class="mk" id="{side}-r{number}" href="#{other}-r{number}"'
                f' title="match {number} on the other side">{number}</a>'
            )
        elif region:
            marker = '<span class="mk" aria-hidden="true"></span>'
        else:
            marker = '<span class="mk"></span>'
        out.append(
            f'<span class="{css}" id="{ident}">{marker}<span class="ln" aria-hidden="true">{n}</span>{line}</span>\n'
        )
    out.append("</code></pre>")
    return mark_safe("".join(out))
