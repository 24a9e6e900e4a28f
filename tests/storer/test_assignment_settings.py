"""Who owns an assignment's settings: the package gives the title, the points, the evaluation
mode and the description as defaults; a setting the staff change (on the manage page or through
the API) is theirs from then on, and no publish of any version overwrites it."""

from __future__ import annotations

from django.test import Client

from assay.storer.courses.models import Assignment, AssignmentVersion
from assay.storer.evaluation import services

from .conftest import package_zip


def teacher(cast) -> Client:
    c = Client()
    c.force_login(cast.users["teacher"])
    return c


def unpublished(cast) -> Assignment:
    """An assignment of prog1 whose first version passed validation and waits to be published."""
    a = Assignment.objects.create(course=cast.prog1, slug="sum2", title="sum2")
    services.add_version(a, package_zip("sum-c"), cast.users["teacher"], publish_when_valid=False)
    AssignmentVersion.objects.filter(assignment=a).update(state=AssignmentVersion.VALID)
    return a


def save_settings(cast, a: Assignment, **changes) -> None:
    fields = {"title": a.title, "points": a.points, "evaluation": a.evaluation,
              "test_details": a.test_details, "deadline": ""} | changes  # fmt: skip
    r = teacher(cast).post(
        f"/courses/prog1/assignments/{a.slug}/manage/",
        {f"settings-{k}": v for k, v in fields.items()},
    )
    assert r.status_code == 302, r.content.decode()[:2000]


def publish(cast, a: Assignment, number: int) -> None:
    r = teacher(cast).post(f"/courses/prog1/assignments/{a.slug}/manage/versions/{number}/publish/")
    assert r.status_code == 302


def test_settings_saved_before_the_first_publish_survive_it(cast):
    a = unpublished(cast)
    save_settings(cast, a, title="Adding up", points=25)
    publish(cast, a, 1)
    a.refresh_from_db()
    assert a.published
    assert (a.title, a.points) == ("Adding up", 25)


def test_the_package_gives_the_settings_the_staff_did_not_change(cast):
    a = unpublished(cast)
    save_settings(cast, a, points=25)
    publish(cast, a, 1)
    a.refresh_from_db()
    assert (a.title, a.points) == ("Sum of two numbers", 25)
    assert a.description  # from the package's statement


def test_a_later_version_keeps_the_staffs_settings(cast):
    a = unpublished(cast)
    publish(cast, a, 1)
    save_settings(cast, Assignment.objects.get(pk=a.pk), title="Adding up", points=25)
    services.add_version(a, package_zip("sum-c"), cast.users["teacher"], trusted=True)
    a.refresh_from_db()
    assert a.current_version.number == 2
    assert (a.title, a.points) == ("Adding up", 25)


def test_settings_changed_through_the_api_survive_a_publish(cast):
    a = unpublished(cast)
    api = cast.api("teacher")
    assert api.patch(f"/assignments/{a.id}", {"points": 7.5}).status_code == 200
    assert api.post(f"/assignments/{a.id}/versions/1/publish").status_code == 200
    a.refresh_from_db()
    assert (a.title, a.points) == ("Sum of two numbers", 7.5)


def test_saving_the_form_unchanged_leaves_the_package_in_charge(cast):
    a = unpublished(cast)
    save_settings(cast, a)
    publish(cast, a, 1)
    a.refresh_from_db()
    assert a.title == "Sum of two numbers"
