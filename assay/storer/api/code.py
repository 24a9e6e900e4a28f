"""The REST API for submitted code: a submission's files, one file's content, all of them as a
zip, and the differences from another submission of the same student for the same assignment.
Who may read them is who may read the submission (``users.get_submission``)."""

from __future__ import annotations

from ninja import Router, Schema

from assay.storer.evaluation import submitted

from .auth import USER_AUTH
from .errors import ApiError, not_found
from .schemas import Id, errors
from .users import get_submission

router = Router(auth=USER_AUTH)


class FileOut(Schema):
    name: str
    size: int


def _binary(description: str, media_type: str) -> dict:
    return {
        "responses": {
            200: {
                "description": description,
                "content": {media_type: {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    }


@router.get(
    "/submissions/{submission_id}/files",
    response={200: list[FileOut], **errors(400, 401, 404)},
    summary="The files of a submission, with their sizes in bytes",
)
def list_files(request, submission_id: Id):
    s = get_submission(submission_id, request.auth)
    return [{"name": f.name, "size": f.size} for f in submitted.files_of(s)]


@router.get(
    "/submissions/{submission_id}/files/{path:name}",
    response={200: None, **errors(400, 401, 404)},
    openapi_extra=_binary("the file's content, as submitted", "application/octet-stream"),
    summary="One submitted file's content",
)
def file_content(request, submission_id: Id, name: str):
    s = get_submission(submission_id, request.auth)
    f = submitted.find(s, name)
    if f is None:
        raise not_found(f"file {name!r} of submission {submission_id}")
    return submitted.file_download(f)


@router.get(
    "/submissions/{submission_id}/archive",
    response={200: None, **errors(400, 401, 404)},
    openapi_extra=_binary("every file of the submission in a zip, at its root", "application/zip"),
    summary="A submission's files as a zip",
)
def archive(request, submission_id: Id):
    return submitted.archive_download(get_submission(submission_id, request.auth))


@router.get(
    "/submissions/{submission_id}/diff",
    response={200: dict, **errors(400, 401, 404)},
    summary="What changed from another submission (`against`) to this one, file by file",
)
def diff(request, submission_id: Id, against: Id):
    """Both submissions must be the same student's for the same assignment (400
    ``not_comparable`` otherwise). Each file: ``status`` (``added``, ``removed``, ``changed``,
    ``unchanged``), the sizes, ``binary``, ``truncated`` (compared on the first 256 KiB only) and
    ``diff``, the lines of a unified diff (empty for binary files)."""
    new = get_submission(submission_id, request.auth)
    old = get_submission(against, request.auth)
    refusal = submitted.not_comparable(old, new)
    if refusal:
        raise ApiError(400, "not_comparable", refusal, "against")
    files = submitted.diff(submitted.files_of(old), submitted.files_of(new))
    return {"from": old.id, "to": new.id, "files": [f.as_json() for f in files]}
