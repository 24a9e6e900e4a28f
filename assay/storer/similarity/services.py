"""What a similarity run compares and keeps (docs/similarity.md), for the pages, the API and
the runner alike:

- ``start``: the staff's request, with the optional past years' archive and base code checked
  before anything is stored (both are hostile until read safely: assay.lib.archive's checks);
- ``documents``: the latest submission of each student (of each team, for a team assignment),
  and the authors of the archive;
- ``save_report``: the engine's pairs, ranked, with their regions;
- ``sides``: the two documents of a pair as the side-by-side view shows them.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from assay.lib.archive import (
    ARCHIVER_JUNK_DIRS,
    ARCHIVER_JUNK_FILES,
    ArchiveError,
    ArchiveLimits,
    check_zip,
)
from assay.similarity.engine import Document, Options, Report
from assay.similarity.tokens import lexer_for
from assay.storer.courses.models import Assignment
from assay.storer.evaluation import submitted
from assay.storer.evaluation.models import Submission, SubmissionFile
from assay.storer.evaluation.services import ServiceError
from assay.storer.groups.models import SharedSubmission

from .models import SimilarityPair, SimilarityRun

ARCHIVED = "archive:"  # a document key's prefix for a past year's author
# a past years' archive: many authors' files, each read up to the code view's cap
ARCHIVE_LIMITS = ArchiveLimits(max_members=20_000, max_member_bytes=8 * 1024 * 1024)
BASE_LIMITS = ArchiveLimits(max_members=500, max_member_bytes=8 * 1024 * 1024)
MAX_SOURCE_BYTES = submitted.FILE_CAP_BYTES  # what counts of one file
ARCHIVE_TOTAL_BYTES = 256 * 1024 * 1024  # what is read of an archive at most, all files together


def start(
    assignment: Assignment,
    user: Any,
    archive: tuple[str, bytes] | None = None,
    base: tuple[str, bytes] | None = None,
) -> SimilarityRun:
    """Queue a run (the runner takes it once the transaction commits). ``archive`` and
    ``base``: (file name, content) as uploaded; refused with a 400 naming the field when the
    archive is not a safe zip of folders, or the base code neither a source file nor such a zip."""
    if archive is not None:
        authors = archive_documents(archive[1])
        if not authors:
            raise ServiceError(
                400, "bad_archive",
                "the archive holds no folder with source files: put each author's files in a"
                " folder of their own (2023/alice/main.c, 2023/bob/main.c)", "archive",
            )  # fmt: skip
    if base is not None and not any(lexer_for(n, t) for n, t in base_files(*base)):
        raise ServiceError(
            400, "bad_base_code",
            f"{base[0]!r} is no source file, and no zip of source files: upload the code"
            " you gave the students (main.c, or a zip of it)", "base_code",
        )  # fmt: skip
    from . import runner

    with transaction.atomic():
        run = SimilarityRun(assignment=assignment, requested_by=user, options=_options())
        if archive is not None:
            run.archive.save(_safe_name(archive[0], "archive.zip"), ContentFile(archive[1]), save=False)  # fmt: skip
        if base is not None:
            run.base_name = _safe_name(base[0], "base")
            run.base_code.save(run.base_name, ContentFile(base[1]), save=False)
        run.save()
        run_id = run.id
        transaction.on_commit(lambda: runner.launch(run_id))
    return run


def _options() -> dict[str, Any]:
    from dataclasses import asdict

    return asdict(Options(workers=max(1, settings.SIMILARITY_WORKERS)))


def _safe_name(name: str, default: str) -> str:
    """The uploaded name's last part, made of safe characters (for the storage and a lexer)."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    kept = "".join(c for c in base if c.isascii() and (c.isalnum() or c in "._-"))[:100]
    return kept.lstrip(".") or default


# -- what is compared -----------------------------------------------------------------------


def latest_submissions(assignment: Assignment) -> list[Submission]:
    """The latest submission of each student; for a team assignment, a student whose team mate
    submitted later is represented by that submission (their team's), not their own older one.
    Two queries."""
    latest: dict[int, Submission] = {}
    for s in (
        Submission.objects.filter(assignment=assignment)
        .select_related("author")
        .order_by("author_id", "-created_at", "-id")
    ):
        latest.setdefault(s.author_id, s)
    shared = SharedSubmission.objects.filter(
        submission_id__in=[s.id for s in latest.values()]
    ).values_list("submission_id", "user_id")
    by_id = {s.id: s for s in latest.values()}
    for submission_id, user_id in shared:
        newer, own = by_id[submission_id], latest.get(user_id)
        if own is not None and (own.created_at, own.id) < (newer.created_at, newer.id):
            del latest[user_id]  # the team's newer submission stands for them
    return sorted(latest.values(), key=lambda s: s.id)


def authors_count(assignment: Assignment) -> int:
    """How many students have submitted (one query; a team counts once per member)."""
    return (
        Submission.objects.filter(assignment=assignment)
        .order_by()
        .values("author_id")
        .distinct()
        .count()
    )


def submission_documents(submissions: list[Submission]) -> list[Document]:
    """Each submission's text files (up to MAX_SOURCE_BYTES each): one query for the files."""
    files: dict[int, list[SubmissionFile]] = {}
    for f in SubmissionFile.objects.filter(submission__in=submissions).order_by("name"):
        files.setdefault(f.submission_id, []).append(f)
    out = []
    for s in submissions:
        texts = []
        for f in files.get(s.id, []):
            data = submitted.read(f, MAX_SOURCE_BYTES)
            if not submitted.is_binary(data):
                texts.append((f.name, submitted.decode(data)))
        out.append(Document(str(s.id), texts))
    return out


def archive_documents(data: bytes) -> list[Document]:
    """A past years' archive as documents, one per top folder (inside one enclosing folder, as
    "compress folder" makes, when files are two folders deep in it); files outside a folder and
    what archivers add (``__MACOSX/``, ``.DS_Store``) are ignored.
    Every member is checked before one is read (ArchiveError -> 400)."""
    files: dict[str, bytes] = {}
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            total = 0
            for info, name in check_zip(zf, ARCHIVE_LIMITS):
                with zf.open(info) as member:
                    files[name] = member.read(MAX_SOURCE_BYTES)
                total += len(files[name])  # counted as read: a header may lie
                if total > ARCHIVE_TOTAL_BYTES:
                    raise ArchiveError(
                        f"more than {ARCHIVE_TOTAL_BYTES // (1024 * 1024)} MiB of files: "
                        "leave out what is not source code"
                    )
    except ArchiveError as e:
        raise ServiceError(400, "bad_archive", f"the archive was refused: {e}", "archive") from e
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        raise ServiceError(400, "bad_archive", f"the archive is not a zip file: {e}", "archive") from e  # fmt: skip
    files = {
        name: content for name, content in files.items()
        if name.split("/", 1)[0] not in ARCHIVER_JUNK_DIRS
        and name.rsplit("/", 1)[-1] not in ARCHIVER_JUNK_FILES
    }  # fmt: skip
    tops = {name.split("/", 1)[0] for name in files}
    if len(tops) == 1 and any(name.count("/") >= 2 for name in files):
        files = {name.split("/", 1)[1]: content for name, content in files.items()}  # 2023/
    authors: dict[str, list[tuple[str, str]]] = {}
    for name, content in sorted(files.items()):
        if "/" not in name or submitted.is_binary(content):
            continue
        author, rest = name.split("/", 1)
        authors.setdefault(author, []).append((rest, submitted.decode(content)))
    return [Document(ARCHIVED + author, texts, current=False) for author, texts in authors.items()]


def base_files(name: str, data: bytes) -> list[tuple[str, str]]:
    """The base code's files: a zip's text files, or the one file uploaded."""
    if zipfile.is_zipfile(io.BytesIO(data)):
        out = []
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                for info, member in check_zip(zf, BASE_LIMITS):
                    with zf.open(info) as stream:
                        content = stream.read(MAX_SOURCE_BYTES)
                    if not submitted.is_binary(content):
                        out.append((member, submitted.decode(content)))
        except ArchiveError as e:
            raise ServiceError(400, "bad_base_code", f"the base code's zip was refused: {e}", "base_code") from e  # fmt: skip
        except (zipfile.BadZipFile, OSError, EOFError) as e:
            raise ServiceError(400, "bad_base_code", f"the base code's zip is broken: {e}", "base_code") from e  # fmt: skip
        return out
    content = data[:MAX_SOURCE_BYTES]
    return [] if submitted.is_binary(content) else [(name, submitted.decode(content))]


@dataclass
class Inputs:
    documents: list[Document]
    base: list[tuple[str, str]] | None
    submissions: int
    archived: int


def inputs(run: SimilarityRun) -> Inputs:
    """Everything the engine needs for ``run``, read now (the latest submissions as they are)."""
    documents = submission_documents(latest_submissions(run.assignment))
    current = len(documents)
    if run.archive:
        with run.archive.open("rb") as f:
            documents += archive_documents(f.read())
    base = None
    if run.base_code:
        with run.base_code.open("rb") as f:
            base = base_files(run.base_name, f.read()) or None
    return Inputs(documents, base, current, len(documents) - current)


def save_report(run: SimilarityRun, given: Inputs, report: Report | dict[str, Any]) -> None:
    """Store the engine's pairs (ranked as it gave them) and finish the run."""
    body = report.as_json() if isinstance(report, Report) else report
    pairs = []
    for rank, p in enumerate(body["pairs"], start=1):
        a, b = p["a"], p["b"]
        regions = p["regions"]
        if a.startswith(ARCHIVED):  # this year's submission on the left
            a, b = b, a
            p = p | {"coverage_a": p["coverage_b"], "coverage_b": p["coverage_a"]}
            regions = [_swapped(r) for r in regions]
            regions.sort(key=lambda r: (r["a_file"], r["a_first"]))
        pairs.append(SimilarityPair(
            run=run, rank=rank, similarity=p["similarity"], coverage_a=p["coverage_a"],
            coverage_b=p["coverage_b"], matched=p["matched"], regions=regions,
            **_side("a", a), **_side("b", b),
        ))  # fmt: skip
    with transaction.atomic():
        SimilarityPair.objects.filter(run=run).delete()  # an earlier attempt's
        SimilarityPair.objects.bulk_create(pairs, batch_size=500)
        SimilarityRun.objects.filter(pk=run.pk).update(
            state=SimilarityRun.DONE, finished_at=timezone.now(), submissions=given.submissions,
            archived=given.archived, candidates=body["candidates"],
            without_code=body["without_code"], options=body["options"],
        )  # fmt: skip


def _swapped(region: dict[str, Any]) -> dict[str, Any]:
    return {
        "a_file": region["b_file"], "a_first": region["b_first"], "a_last": region["b_last"],
        "b_file": region["a_file"], "b_first": region["a_first"], "b_last": region["a_last"],
        "tokens": region["tokens"],
    }  # fmt: skip


def _side(side: str, key: str) -> dict[str, Any]:
    if key.startswith(ARCHIVED):
        return {f"{side}_archived": key.removeprefix(ARCHIVED)}
    return {f"{side}_submission_id": int(key)}


# -- what the pages and the API show --------------------------------------------------------


def ranked_pairs(run: SimilarityRun) -> Any:
    """The run's pairs, most similar first, with both submissions and their authors (one
    query, a page of it when paginated)."""
    return SimilarityPair.objects.filter(run=run).select_related(
        "a_submission__author", "b_submission__author"
    ).order_by("rank")  # fmt: skip


def side_label(submission: Submission | None, archived: str) -> str:
    if submission is not None:
        return f"{submission.author.username} (submission {submission.id})"
    return f"{archived} (past years)"


def side_files(run: SimilarityRun, submission: Submission | None, archived: str) -> list[tuple[str, str]]:  # fmt: skip
    """The (name, text) files of one side of a pair, as they were compared."""
    if submission is not None:
        return submission_documents([submission])[0].files
    if not run.archive:
        return []
    with run.archive.open("rb") as f:
        for document in archive_documents(f.read()):
            if document.key == ARCHIVED + archived:
                return document.files
    return []
