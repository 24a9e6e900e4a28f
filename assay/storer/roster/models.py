"""How students join a course by themselves: a course's self-enrolment switch and its key (typed
on the join page, or carried by the invitation link)."""

from __future__ import annotations

import secrets

from django.db import models
from django.utils import timezone

from assay.storer.courses.models import Course

# no 0/O, 1/I/L: a key read aloud or copied from a slide is typed right
KEY_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
KEY_LENGTH = 10


def new_key() -> str:
    return "".join(secrets.choice(KEY_ALPHABET) for _ in range(KEY_LENGTH))


def normal_key(typed: str) -> str:
    """The key as stored: upper case, without the spaces and dashes people type in it."""
    return "".join(ch for ch in typed.upper() if ch not in " -\t")


class Enrolment(models.Model):
    """A course's self-enrolment: off by default. The key stays when it is turned off and on
    again; regenerating it makes the old key and link stop working."""

    course = models.OneToOneField(Course, on_delete=models.CASCADE, related_name="enrolment")
    open = models.BooleanField(default=False)
    key = models.CharField(max_length=20, unique=True, default=new_key)
    key_created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.course} ({'open' if self.open else 'closed'})"
