"""Times in the course's time zone: a page about a course (or one of its assignments or
submissions) shows every time, and reads every time typed into a form, in ``Course.time_zone``;
other pages in the default zone (settings.TIME_ZONE). The API keeps ISO 8601 with offsets."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from assay.storer.courses.models import Course


def use_course_time_zone(course: Course) -> None:
    """From here on in this request, times are the course's (the lookups of views.py call it)."""
    timezone.activate(course.tz)


class TimeZoneMiddleware:
    """Every request starts in the default zone: a zone activated for one course's page never
    leaks into the next request the thread serves."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
