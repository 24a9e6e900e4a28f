"""The groups page (supervisors): lab groups and teams, each with its supervisors and members;
a group's own page to change or delete it; team submissions switched on per assignment."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from assay.storer.courses.models import Course, Membership
from assay.storer.evaluation.services import ServiceError
from assay.storer.groups import services
from assay.storer.groups.models import Group

from .paging import page_of
from .staff import supervisor_required
from .views import _bound, assignment_or_404


class GroupForm(forms.Form):
    name = forms.CharField(max_length=services.MAX_NAME, label="Name")
    kind = forms.ChoiceField(
        choices=Group.KINDS,
        initial=Group.LAB,
        label="Kind",
        help_text="A team's members share their submissions of team assignments.",
    )
    supervisors = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Supervisors",
        help_text="The course's supervisors in charge of the group.",
    )
    members = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        label="Members",
        help_text="Usernames of the course's students, one per line or separated by commas.",
    )

    def __init__(self, *args: Any, course: Course, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["supervisors"]
        assert isinstance(field, forms.MultipleChoiceField)
        field.choices = [
            (u, u)
            for u in Membership.objects.filter(course=course, role=Membership.SUPERVISOR)
            .order_by("user__username")
            .values_list("user__username", flat=True)
        ]


def _save(request: HttpRequest, course: Course, form: GroupForm, group: Group | None) -> bool:
    """Save the form's group; a problem goes to the field it names."""
    if not form.is_valid():
        return False
    data = form.cleaned_data
    try:
        services.save_group(
            course, name=data["name"], kind=data["kind"], supervisors=data["supervisors"],
            members=services.usernames(data["members"]), group=group,
        )  # fmt: skip
    except ServiceError as e:
        form.add_error(e.field if e.field in form.fields else None, e.message)
        return False
    return True


@supervisor_required
def groups(request: HttpRequest, course: Course) -> HttpResponse:
    form = GroupForm(*_bound(request), course=course)
    if request.method == "POST" and _save(request, course, form, None):
        messages.success(request, f"Group {form.cleaned_data['name']} created.")
        return redirect("web:groups", slug=course.slug)
    # 50 groups a page, each with its supervisors and members (a count and three queries)
    paged = page_of(request, services.course_groups(course))
    context = {"course": course, "groups": list(paged["page"]), "form": form, **paged}
    return render(
        request, "web/groups.html", context, status=400 if request.method == "POST" else 200
    )


@supervisor_required
def group(request: HttpRequest, course: Course, group_id: int) -> HttpResponse:
    g = get_object_or_404(Group, pk=group_id, course=course)
    initial = {
        "name": g.name, "kind": g.kind,
        "supervisors": [u.username for u in g.supervisors.all()],
        "members": "\n".join(sorted(u.username for u in g.members.all())),
    }  # fmt: skip
    form = GroupForm(*_bound(request), course=course, initial=initial)
    if request.method == "POST" and _save(request, course, form, g):
        messages.success(request, f"Group {form.cleaned_data['name']} saved.")
        return redirect("web:groups", slug=course.slug)
    return render(
        request,
        "web/group.html",
        {"course": course, "group": g, "form": form},
        status=400 if request.method == "POST" else 200,
    )


@require_POST
@supervisor_required
def delete_group(request: HttpRequest, course: Course, group_id: int) -> HttpResponse:
    g = get_object_or_404(Group, pk=group_id, course=course)
    g.delete()
    messages.success(request, f"Group {g.name} deleted; the submissions its members shared stay.")
    return redirect("web:groups", slug=course.slug)


@require_POST
@supervisor_required
def teams(request: HttpRequest, course: Course, assignment_slug: str) -> HttpResponse:
    a = assignment_or_404(course, assignment_slug, request.user)
    enabled = request.POST.get("in_teams") == "yes"
    services.set_in_teams(a, enabled)
    messages.success(
        request,
        "Submissions are now team submissions: shared with the author's team."
        if enabled
        else "Submissions are now individual.",
    )
    return redirect("web:manage_assignment", slug=course.slug, assignment_slug=a.slug)
