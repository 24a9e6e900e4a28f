"""The feedback e-mail goes out through a real SMTP server on loopback (aiosmtpd), with Django's
SMTP backend as the storer configures it, and carries the link to the submission."""

from __future__ import annotations

import email
from email import policy

import pytest
from aiosmtpd.controller import Controller

from assay.storer.evaluation import services as evaluation
from assay.storer.feedback import services

from .conftest import SUM_OK
from .server import Mailbox, free_port


@pytest.fixture
def smtp(settings):
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    yield box
    controller.stop()


def test_the_student_gets_one_mail_with_the_submissions_link(
    cast, smtp, settings, django_capture_on_commit_callbacks
):
    settings.SITE_URL = "http://assay.example.org:8000"
    alice = cast.users["alice"]
    s = evaluation.create_submission(cast.sum, alice, alice, {"sum.c": SUM_OK})
    for text in ("Read the statement again.", "And test with negative numbers."):
        with django_capture_on_commit_callbacks(execute=True):
            services.add(s, cast.users["teacher"], text)
    assert len(smtp.messages) == 1
    message = email.message_from_string(smtp.messages[0], policy=policy.default)
    assert message["To"] == "alice@example.org"
    title = cast.sum.title
    assert (
        message["Subject"] == f"[assay] Feedback on your submission {s.id} (Programming 1: {title})"
    )
    body = message.get_content()
    assert f"http://assay.example.org:8000/submissions/{s.id}/#feedback" in body
