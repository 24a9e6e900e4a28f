"""Pages for manual grading: a student's grade (the staff adjust it: override with a reason,
bonus or penalty, rubric items; the student reads their own), and the rubric section of the
assignment's manage page (loaded by htmx; a page of its own without JavaScript)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from assay.storer.courses.models import Assignment, Membership
from assay.storer.courses.permissions import can_supervise
from assay.storer.evaluation.services import ServiceError
from assay.storer.grading import services
from assay.storer.grading.models import MAX_POINTS, MAX_REASON_CHARS, RubricItem

from .views import assignment_or_404, course_or_404


class AdjustmentForm(forms.Form):
    override = forms.FloatField(
        required=False, min_value=0, max_value=MAX_POINTS, label="Override points",
        help_text="These points instead of the automatic ones. Leave empty to keep them.",
        widget=forms.NumberInput(attrs={"step": "any"}),
    )  # fmt: skip
    override_reason = forms.CharField(
        required=False, max_length=MAX_REASON_CHARS, label="Reason for the override",
        help_text="Required with an override; the student reads it.",
        widget=forms.Textarea(attrs={"rows": 2}),
    )  # fmt: skip
    bonus = forms.FloatField(
        required=False, min_value=-MAX_POINTS, max_value=MAX_POINTS, label="Bonus points",
        help_text="Added on top; a negative number is a penalty.",
        widget=forms.NumberInput(attrs={"step": "any"}),
    )  # fmt: skip
    bonus_reason = forms.CharField(
        required=False, max_length=MAX_REASON_CHARS, label="Reason for the bonus or penalty",
        widget=forms.Textarea(attrs={"rows": 2}),
    )  # fmt: skip

    def __init__(self, *args: Any, items: list[RubricItem], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.items = items
        for i in items:
            self.fields[f"item_{i.id}"] = forms.BooleanField(
                required=False, label=f"{i.title} ({i.points:g} points)"
            )
            self.fields[f"item_{i.id}_points"] = forms.FloatField(
                required=False, min_value=0, max_value=i.points,
                label=f"or part of it (0 to {i.points:g})",
                widget=forms.NumberInput(attrs={"step": "any"}),
            )  # fmt: skip

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("override") is not None and not (data.get("override_reason") or "").strip():
            self.add_error("override_reason", "Say why the points are overridden.")
        return data

    def awards(self) -> dict[int, float]:
        out: dict[int, float] = {}
        for i in self.items:
            part = self.cleaned_data.get(f"item_{i.id}_points")
            if part is not None:
                out[i.id] = part
            elif self.cleaned_data.get(f"item_{i.id}"):
                out[i.id] = i.points
        return out

    def rubric_rows(self) -> list[tuple[RubricItem, Any, Any]]:
        return [(i, self[f"item_{i.id}"], self[f"item_{i.id}_points"]) for i in self.items]

    def plain_fields(self) -> list[Any]:
        return [self[n] for n in ("override", "override_reason", "bonus", "bonus_reason")]


def _number(x: float | None) -> str | None:
    return None if x is None else f"{x:g}"


def _initial(doc: dict[str, Any]) -> dict[str, Any]:
    initial: dict[str, Any] = {
        "override": _number(doc["override"]), "override_reason": doc["override_reason"],
        "bonus": _number(doc["bonus"] or None), "bonus_reason": doc["bonus_reason"],
    }  # fmt: skip
    for r in doc["rubric"]:
        full = r["awarded"] >= r["points"]
        initial[f"item_{r['id']}"] = full
        partial = 0 < r["awarded"] < r["points"]
        initial[f"item_{r['id']}_points"] = _number(r["awarded"]) if partial else None
    return initial


CHANGE_NAMES = {
    "override": "Override", "override_reason": "Reason for the override", "bonus": "Bonus",
    "bonus_reason": "Reason for the bonus or penalty",
}  # fmt: skip


def _said(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, float | int):
        return f"{value:g}"
    return value or "(empty)"


def _history(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The history as the page says it: "Bonus: 0 → -1", "Rubric: Style: 0 → 2"."""
    return [
        {"by": h["by"], "at": h["at"], "changes": [
            (CHANGE_NAMES.get(name, name.replace("rubric: ", "Rubric: ", 1)), _said(old), _said(new))
            for name, (old, new) in h["changes"].items()
        ]}
        for h in doc["history"]
    ]  # fmt: skip


@login_required
def grade(request: HttpRequest, slug: str, assignment_slug: str, username: str) -> HttpResponse:
    """A student's grade; the staff change it here (POST)."""
    c = course_or_404(slug, request.user)
    a = assignment_or_404(c, assignment_slug, request.user)
    try:
        student = services.student_of(a, username, request.user)
    except ServiceError as e:
        raise Http404(e.message) from e
    staff = services.can_grade(request.user, a)
    if request.method == "POST" and not staff:
        raise PermissionDenied("only the course's supervisors and administrators grade by hand")
    doc = services.sheet(a, student, request.user)
    items = services.rubric_of(a)
    form = None
    if staff:
        form = AdjustmentForm(
            request.POST if request.method == "POST" else None, items=items, initial=_initial(doc)
        )
        if request.method == "POST" and form.is_valid():
            d = form.cleaned_data
            try:
                services.save(
                    a, student, request.user, override=d["override"],
                    override_reason=d["override_reason"], bonus=d["bonus"],
                    bonus_reason=d["bonus_reason"], awards=form.awards(),
                )  # fmt: skip
            except ServiceError as e:
                form.add_error(e.field if e.field in form.fields else None, e.message)
            else:
                messages.success(request, f"Grade of {student.username} saved.")
                return redirect("web:grade", slug=c.slug, assignment_slug=a.slug, username=username)
    context = {
        "course": c, "a": a, "student": student, "doc": doc, "form": form, "staff": staff,
        "history": _history(doc),
    }  # fmt: skip
    return render(
        request, "web/grade.html", context, status=400 if request.method == "POST" else 200
    )


@login_required
def grade_of(request: HttpRequest, assignment_id: int, student_id: int) -> HttpResponse:
    """The grade page by ids (a grades table's cell links here)."""
    a = get_object_or_404(Assignment.objects.select_related("course"), pk=assignment_id)
    student = get_user_model().objects.filter(pk=student_id).first()
    if student is None or not (
        student.pk == request.user.pk or can_supervise(request.user, a.course)
    ):
        raise Http404("no such grade")
    return redirect(
        "web:grade", slug=a.course.slug, assignment_slug=a.slug, username=student.username
    )


# -- the rubric, on the manage page -------------------------------------------------------------


class RubricItemForm(forms.Form):
    title = forms.CharField(max_length=200, label="Title")
    points = forms.FloatField(
        min_value=0, max_value=MAX_POINTS, label="Points",
        help_text="The most it gives; staff award it in full or in part.",
        widget=forms.NumberInput(attrs={"step": "any"}),
    )  # fmt: skip
    description = forms.CharField(
        required=False, max_length=MAX_REASON_CHARS, label="Description",
        widget=forms.Textarea(attrs={"rows": 2}),
    )  # fmt: skip
    order = forms.IntegerField(
        required=False, min_value=0, max_value=10_000, label="Position",
        help_text="Items are shown by position. Empty: last.",
    )  # fmt: skip

    def clean_points(self) -> float:
        points = self.cleaned_data["points"]
        if points <= 0:
            raise forms.ValidationError("Give a number above 0 (a penalty is a negative bonus).")
        return points


def _staff_assignment(request: HttpRequest, slug: str, assignment_slug: str) -> Assignment:
    c = course_or_404(slug, request.user)
    if not can_supervise(request.user, c):
        raise PermissionDenied("only supervisors of the course may do this")
    return assignment_or_404(c, assignment_slug, request.user)


def _students(a: Assignment) -> list[str]:
    return list(
        Membership.objects.filter(course_id=a.course_id, role=Membership.STUDENT)
        .order_by("user__username")
        .values_list("user__username", flat=True)
    )


def _rubric_context(a: Assignment, form: RubricItemForm | None = None) -> dict[str, Any]:
    items = services.rubric_of(a)
    return {
        "course": a.course, "a": a, "items": items,
        "edit_forms": [
            (i, RubricItemForm(
                initial={"title": i.title, "points": i.points, "description": i.description,
                         "order": i.order}, prefix=f"item{i.id}"))
            for i in items
        ],
        "form": form or RubricItemForm(prefix="new"), "students": _students(a),
    }  # fmt: skip


@login_required
def rubric(request: HttpRequest, slug: str, assignment_slug: str) -> HttpResponse:
    """The rubric section (htmx asks for it from the manage page), or a page of its own."""
    a = _staff_assignment(request, slug, assignment_slug)
    template = (
        "web/partials/rubric.html" if request.headers.get("HX-Request") else "web/rubric.html"
    )
    return render(request, template, _rubric_context(a))


def _back(a: Assignment) -> HttpResponse:
    return redirect(reverse("web:manage_assignment", args=[a.course.slug, a.slug]) + "#rubric")


def _form_errors(form: forms.Form) -> str:
    said = []
    for name, errs in form.errors.items():
        label = form.fields[name].label if name in form.fields else ""
        text = " ".join(str(e) for e in errs)
        said.append(f"{label}: {text}" if label else text)
    return " ".join(said)


@login_required
@require_POST
def rubric_add(request: HttpRequest, slug: str, assignment_slug: str) -> HttpResponse:
    a = _staff_assignment(request, slug, assignment_slug)
    form = RubricItemForm(request.POST, prefix="new")
    if form.is_valid():
        d = form.cleaned_data
        try:
            item = services.add_item(
                a, request.user, d["title"], d["points"], d["description"], d["order"]
            )
        except ServiceError as e:
            form.add_error(e.field if e.field in form.fields else None, e.message)
        else:
            messages.success(request, f"Rubric item “{item.title}” added.")
            return _back(a)
    context = _rubric_context(a, form)
    return render(request, "web/rubric.html", context, status=400)


def _item_or_404(request: HttpRequest, slug: str, assignment_slug: str, item_id: int) -> RubricItem:
    a = _staff_assignment(request, slug, assignment_slug)
    return get_object_or_404(
        RubricItem.objects.select_related("assignment__course"), pk=item_id, assignment=a
    )


@login_required
@require_POST
def rubric_edit(
    request: HttpRequest, slug: str, assignment_slug: str, item_id: int
) -> HttpResponse:
    item = _item_or_404(request, slug, assignment_slug, item_id)
    form = RubricItemForm(request.POST, prefix=f"item{item.id}")
    if not form.is_valid():
        messages.error(request, f"Rubric item “{item.title}” not saved: {_form_errors(form)}")
        return _back(item.assignment)
    d = form.cleaned_data
    try:
        services.edit_item(
            item, request.user, title=d["title"], points=d["points"], description=d["description"],
            order=d["order"],
        )  # fmt: skip
    except ServiceError as e:
        messages.error(request, f"Rubric item “{item.title}” not saved: {e.message}")
    else:
        messages.success(request, f"Rubric item “{item.title}” saved.")
    return _back(item.assignment)


@login_required
@require_POST
def rubric_delete(
    request: HttpRequest, slug: str, assignment_slug: str, item_id: int
) -> HttpResponse:
    item = _item_or_404(request, slug, assignment_slug, item_id)
    services.delete_item(item, request.user)
    messages.success(request, f"Rubric item “{item.title}” deleted.")
    return _back(item.assignment)


@login_required
def grade_pick(request: HttpRequest, slug: str, assignment_slug: str) -> HttpResponse:
    """The manage page's "grade a student" choice, to that student's grade page."""
    a = _staff_assignment(request, slug, assignment_slug)
    username = request.GET.get("student", "")
    if username not in _students(a):
        messages.error(request, "Student: choose one of the course's students.")
        return _back(a)
    return redirect("web:grade", slug=slug, assignment_slug=a.slug, username=username)
