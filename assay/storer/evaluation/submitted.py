"""The files of a submission as the student sent them: listed in one query, read with a cap,
told text from binary, packed into a zip, and compared with another submission of the same
student for the same assignment. The pages and the API both show code through this module.

Only the submission's own files are here: a package's tests (hidden or not) never are."""

from __future__ import annotations

import difflib
import io
import re
import zipfile
from dataclasses import dataclass, field
from typing import Any

from django.http import FileResponse, HttpResponse

from .models import Submission, SubmissionFile

FILE_CAP_BYTES = 256 * 1024  # what is shown (highlighted, compared) of one file
PAGE_CAP_BYTES = 1024 * 1024  # what one page shows of all the files together
BINARY_PROBE_BYTES = 8000  # as git: a NUL byte in the first 8000 bytes makes a file binary
DIFF_CONTEXT_LINES = 3


@dataclass
class ShownFile:
    """One submitted file as a page or the API shows it: ``text`` is the first
    ``FILE_CAP_BYTES`` decoded as UTF-8 (an invalid byte becomes U+FFFD), or None for a binary
    file and for a file left out because the page already shows ``PAGE_CAP_BYTES``."""

    name: str
    size: int
    binary: bool = False
    text: str | None = None
    truncated: bool = False  # the text is the file's first FILE_CAP_BYTES only
    left_out: bool = False  # not read: the page shows enough already


def files_of(submission: Submission) -> list[SubmissionFile]:
    """The submission's files by name: one query."""
    return list(SubmissionFile.objects.filter(submission_id=submission.id).order_by("name"))


def find(submission: Submission, name: str) -> SubmissionFile | None:
    return SubmissionFile.objects.filter(submission_id=submission.id, name=name).first()


def read(f: SubmissionFile, limit: int | None = None) -> bytes:
    """The file's content (its first ``limit`` bytes), from whichever storage holds it."""
    with f.file.open("rb") as stream:
        return stream.read() if limit is None else stream.read(limit)


def is_binary(head: bytes) -> bool:
    return b"\x00" in head[:BINARY_PROBE_BYTES]


def decode(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def lines_of(text: str) -> list[str]:
    """The text's lines as the code view numbers them (CR LF and CR end a line, as in Pygments;
    other separators such as U+2028 do not)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return lines[:-1] if lines[-1] == "" else lines


def shown(files: list[SubmissionFile], page_cap: int = PAGE_CAP_BYTES) -> list[ShownFile]:
    """The files as one page shows them: each up to FILE_CAP_BYTES, all up to ``page_cap``."""
    out, budget = [], page_cap
    for f in files:
        entry = ShownFile(f.name, f.size)
        if budget <= 0:
            entry.left_out = True
        else:
            data = read(f, min(FILE_CAP_BYTES, budget))
            budget -= len(data)
            entry.binary = is_binary(data)
            if not entry.binary:
                entry.text = decode(data)
                entry.truncated = len(data) < f.size
        out.append(entry)
    return out


def archive(files: list[SubmissionFile]) -> bytes:
    """A zip of the files at its root, under the names they were submitted with."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for f in files:
            z.writestr(f.name, read(f))
    return buffer.getvalue()


def download_name(submission: Submission, suffix: str = ".zip") -> str:
    """e.g. ``sum-alice-15.zip``: assignment, author, submission (a safe file name)."""
    parts = (submission.assignment.slug, submission.author.username, str(submission.id))
    return "-".join(re.sub(r"[^A-Za-z0-9_.+@-]+", "_", p) for p in parts) + suffix


def file_download(f: SubmissionFile) -> FileResponse:
    """One file as a download: the browser neither shows it as a page of the site nor sniffs it."""
    return FileResponse(
        f.file.open("rb"),
        as_attachment=True,
        filename=f.name.rsplit("/", 1)[-1],
        content_type="application/octet-stream",
    )


def archive_download(submission: Submission) -> HttpResponse:
    response = HttpResponse(archive(files_of(submission)), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{download_name(submission)}"'
    return response


def previous(submission: Submission) -> int | None:
    """The author's submission for the same assignment made just before this one (its id)."""
    earlier = Submission.objects.filter(
        assignment_id=submission.assignment_id,
        author_id=submission.author_id,
        created_at__lte=submission.created_at,
        id__lt=submission.id,
    ).order_by("-created_at", "-id")
    return earlier.values_list("id", flat=True).first()


def not_comparable(old: Submission, new: Submission) -> str | None:
    """Why two submissions cannot be compared (None when they can)."""
    if old.author_id != new.author_id:
        return "only submissions of the same student can be compared"
    if old.assignment_id != new.assignment_id:
        return "only submissions for the same assignment can be compared"
    return None


@dataclass
class FileDiff:
    """How one file changed from the old submission to the new one. ``status``: ``added``,
    ``removed``, ``changed``, ``unchanged``; ``lines`` is a unified diff (without the two
    header lines) of text files, empty when either side is binary."""

    name: str
    status: str
    old_size: int | None
    new_size: int | None
    binary: bool = False
    truncated: bool = False  # compared on the first FILE_CAP_BYTES only
    lines: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name, "status": self.status, "old_size": self.old_size,
            "new_size": self.new_size, "binary": self.binary, "truncated": self.truncated,
            "diff": self.lines,
        }  # fmt: skip


def diff(old: list[SubmissionFile], new: list[SubmissionFile]) -> list[FileDiff]:
    """Every file of either submission, by name, with what changed."""
    before, after = {f.name: f for f in old}, {f.name: f for f in new}
    out = []
    for name in sorted(before.keys() | after.keys()):
        a, b = before.get(name), after.get(name)
        status = "added" if a is None else "removed" if b is None else "changed"
        entry = FileDiff(name, status, a.size if a else None, b.size if b else None)
        old_data = read(a, FILE_CAP_BYTES + 1) if a else b""
        new_data = read(b, FILE_CAP_BYTES + 1) if b else b""
        if a and b and old_data == new_data and a.size == b.size:
            entry.status = "unchanged"
        entry.truncated = max(len(old_data), len(new_data)) > FILE_CAP_BYTES
        old_data, new_data = old_data[:FILE_CAP_BYTES], new_data[:FILE_CAP_BYTES]
        entry.binary = is_binary(old_data) or is_binary(new_data)
        if not entry.binary and entry.status != "unchanged":
            lines = difflib.unified_diff(
                lines_of(decode(old_data)), lines_of(decode(new_data)),
                lineterm="", n=DIFF_CONTEXT_LINES,
            )  # fmt: skip
            entry.lines = list(lines)[2:]  # without the "---" and "+++" header lines
        out.append(entry)
    return out
