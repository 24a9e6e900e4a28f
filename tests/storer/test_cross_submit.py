"""A supervisor's cross-submit on the assignment page: the message links to the submission, and
the page's list shows it at once (with the student it is for); students see only their own."""

from __future__ import annotations

import re

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from assay.storer.evaluation.models import Submission

from .conftest import SUM_OK

PAGE = "/courses/prog1/assignments/sum/"


def login(cast, who: str) -> Client:
    c = Client()
    c.force_login(cast.users[who])
    return c


def cross_submit(teacher: Client) -> tuple[Submission, str]:
    r = teacher.post(
        PAGE, {"files": [SimpleUploadedFile("sum.c", SUM_OK)], "for_user": "bob"}, follow=True
    )
    assert r.status_code == 200
    return Submission.objects.get(), r.content.decode()


def test_the_message_links_to_the_cross_submitted_submission(cast):
    s, html = cross_submit(login(cast, "teacher"))
    messages = re.search(r'<ul class="messages">(.*?)</ul>', html, re.S)
    assert messages is not None
    assert f'<a href="/submissions/{s.id}/">Submission {s.id}</a> received' in messages.group(1)
    assert "for bob" in messages.group(1)


def test_the_supervisors_list_shows_the_cross_submission_at_once(cast):
    teacher = login(cast, "teacher")
    s, html = cross_submit(teacher)
    rows = html.split('id="submission-rows"', 1)[1]
    assert "No submissions yet" not in rows
    assert f'href="/submissions/{s.id}/"' in rows and "for bob" in rows
    live = teacher.get(f"{PAGE}submissions/").content.decode()
    assert f'href="/submissions/{s.id}/"' in live


def test_the_student_sees_it_and_a_classmate_does_not(cast):
    s, _ = cross_submit(login(cast, "teacher"))
    bob = login(cast, "bob").get(PAGE).content.decode()
    assert f'href="/submissions/{s.id}/"' in bob.split('id="submission-rows"', 1)[1]
    alice = login(cast, "alice").get(PAGE).content.decode()
    assert f'href="/submissions/{s.id}/"' not in alice
