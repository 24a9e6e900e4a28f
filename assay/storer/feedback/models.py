from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from assay.storer.evaluation.models import Submission

MAX_TEXT_CHARS = 10_000


class Comment(models.Model):
    """A staff member's comment on a submission: on line ``line`` of the submitted file
    ``file_name``, or on the whole submission (no file, no line). The text is Markdown, shown
    cleaned (``assay_web.markdown``)."""

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="comments")
    # the submission's author, who reads it: the unread count is one index lookup
    student = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    file_name = models.CharField(max_length=255, blank=True)  # "": the whole submission
    line = models.PositiveIntegerField(null=True, blank=True)
    text = models.TextField(max_length=MAX_TEXT_CHARS)
    created_at = models.DateTimeField(default=timezone.now)
    edited_at = models.DateTimeField(null=True, blank=True)
    # when the student saw it (or its last edit); None: unread
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["submission", "created_at"]),
            models.Index(fields=["student", "read_at"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(file_name="", line__isnull=True) | (~Q(file_name="") & Q(line__gte=1)),
                name="feedback_comment_line_with_file",
            )
        ]

    def __str__(self) -> str:
        return f"comment {self.id} on submission {self.submission_id} ({self.place})"

    @property
    def place(self) -> str:
        """What it is on, as the pages say it: "sum.c, line 3" or "the whole submission"."""
        return f"{self.file_name}, line {self.line}" if self.file_name else "the whole submission"

    @property
    def anchor_name(self) -> str:
        return f"comment-{self.id}"


class FeedbackMail(models.Model):
    """When the student was last e-mailed about feedback on this submission (at most one mail
    per submission per ``FEEDBACK_MAIL_INTERVAL_S``)."""

    submission = models.OneToOneField(
        Submission, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    mailed_at = models.DateTimeField()
