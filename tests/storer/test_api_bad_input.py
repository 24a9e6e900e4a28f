"""Bad input is a 4xx in the API's error shape, never a 500 (issue 9): a zip whose file is also a
folder, file names too long, with NUL, control or bidirectional characters, or nested too deep,
integers beyond 64 bits, a tester's negative slots, bodies that are not what they should be."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from assay.storer.evaluation import models
from assay.storer.evaluation.models import Submission

from .conftest import SUM_OK

BIG = "99999999999999999999999"  # more than 64 bits


def zip_of(names: list[str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name in names:
            zf.writestr(name, SUM_OK if name.endswith("sum.c") else b"x")
    return buf.getvalue()


def submit_zip(cast, names: list[str]):
    return cast.api("alice").post(
        f"/assignments/{cast.sum.id}/submissions",
        {"archive": SimpleUploadedFile("s.zip", zip_of(names))},
    )


def submit_files(cast, names: list[str]):
    files = [SimpleUploadedFile(n, SUM_OK if n == "sum.c" else b"x") for n in names]
    return cast.api("alice").post(f"/assignments/{cast.sum.id}/submissions", {"files": files})


def refused(r, status: int, code: str, field: str | None = None, said: str = "") -> dict:
    assert r.status_code == status, r.content
    assert r["Content-Type"].startswith("application/json"), r.content
    error = r.json()["error"]
    assert error["code"] == code, error
    if field is not None:
        assert error["field"] == field, error
    assert said in error["message"], error
    return error


def nothing_stored() -> bool:
    try:
        stored = default_storage.listdir("submissions")
    except FileNotFoundError:
        stored = ([], [])
    return Submission.objects.count() == 0 and stored == ([], [])


# -- submitted files ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "names",
    [
        ["a", "a/main.py", "sum.c"],  # was a 500: FileExistsError
        ["a/main.py", "a", "sum.c"],
        ["A", "a/main.py", "sum.c"],  # the same on a file system that ignores case
        ["x/a", "x/a/b/main.py", "sum.c"],
    ],
)
def test_a_zip_whose_file_is_also_a_folder_is_refused(cast, names):
    refused(submit_zip(cast, names), 400, "bad_archive", "archive", "also a folder")
    assert nothing_stored()


def test_a_file_name_of_300_characters_is_refused(cast):
    long = "x" * 298 + ".c"
    # in a zip: was a 500 (OSError: File name too long)
    refused(submit_zip(cast, ["sum.c", long]), 400, "bad_archive", "archive", "255 bytes")
    # sent as a file: Django cuts the name to 255 characters, still too long for a submission
    refused(submit_files(cast, ["sum.c", long]), 400, "bad_file_name", "files", "at most 200")
    # a long path of short names
    path = "/".join(["abcdefghijklmnopqrst"] * 12) + "/x.c"
    refused(submit_zip(cast, ["sum.c", path]), 400, "bad_file_name", "archive", "at most 200")
    assert nothing_stored()


@pytest.mark.parametrize(
    "name", ["\u202egpj.c", "a\x01b.c", "a\x07.c", "line\nbreak.c", "a\u2028b.c"]
)
def test_a_file_name_with_control_or_bidirectional_characters_is_refused(cast, name):
    refused(submit_zip(cast, ["sum.c", name]), 400, "bad_file_name", "archive", "not allowed")
    # sent as a file, it is refused too, not silently renamed ("gpj.c")
    if "\n" not in name:  # a line break cannot be sent in a multipart header
        refused(submit_files(cast, ["sum.c", name]), 400, "bad_file_name", "files")
    assert nothing_stored()


def test_a_file_name_with_nul_is_refused(cast):
    # (in a zip, Python's zipfile ends a name at its NUL: "a\x00b.c" is read as "a")
    refused(submit_files(cast, ["sum.c", "a\x00b.c"]), 400, "bad_file_name", "files")
    assert nothing_stored()


def test_a_file_nested_200_folders_deep_is_refused(cast):
    # was Django's HTML 400 (SuspiciousFileOperation from the storage)
    refused(
        submit_zip(cast, ["sum.c", "d/" * 200 + "f.c"]),
        400,
        "bad_archive",
        "archive",
        "200 folders",
    )
    # deeper than a submission may be, though the zip itself is acceptable
    refused(
        submit_zip(cast, ["sum.c", "d/" * 20 + "f.c"]),
        400,
        "bad_file_name",
        "archive",
        "at most 16",
    )
    assert nothing_stored()


def test_a_submission_in_folders_within_the_limits_is_accepted(cast):
    r = submit_zip(cast, ["hw/sum.c", "hw/" + "d/" * 15 + "notes.txt", "hw/\u00e9t\u00e9 2.txt"])
    assert r.status_code == 201, r.content
    assert sorted(f["name"] for f in r.json()["files"]) == [
        "d/" * 15 + "notes.txt",
        "sum.c",
        "\u00e9t\u00e9 2.txt",
    ]


def test_a_zip_with_a_name_that_is_not_utf8_is_refused(cast):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("sum.c", SUM_OK)
        zf.writestr("ab.c", b"x")
    data = buf.getvalue().replace(b"ab.c", b"\xff\xfe.c")
    data = data.replace(b"\x14\x00\x00\x00", b"\x14\x00\x00\x08")  # the "names are UTF-8" flag
    r = cast.api("alice").post(
        f"/assignments/{cast.sum.id}/submissions", {"archive": SimpleUploadedFile("s.zip", data)}
    )
    refused(r, 400, "bad_archive", "archive")


# -- integers beyond 64 bits -------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        f"/submissions?assignment={BIG}",  # was a 500: OverflowError from SQLite
        f"/submissions?limit={BIG}",
        f"/assignments/{BIG}",
        f"/submissions/{BIG}",
        f"/assignments/1/versions/{BIG}/publish",
    ],
)
def test_integers_beyond_64_bits_are_refused(cast, path):
    api = cast.api("teacher")
    r = api.post(path) if path.endswith("publish") else api.get(path)
    refused(r, 400, "invalid")


def test_a_testers_integers_beyond_64_bits_are_refused(cast):
    tester = cast.api("tester")
    refused(tester.post(f"/tester/jobs/{BIG}/claim", json={"attempt": 1}), 400, "invalid", "job_id")
    refused(tester.post("/tester/jobs/1/claim", json={"attempt": int(BIG)}), 400, "invalid")
    refused(tester.get(f"/tester/jobs/1/bundle?attempt={BIG}"), 400, "invalid", "attempt")
    refused(tester.post("/tester/heartbeat", json={"jobs": [int(BIG)]}), 400, "invalid")


# -- the tester's heartbeat and other bodies ---------------------------------------------------


def test_a_heartbeat_with_negative_slots_is_refused(cast):
    r = cast.api("tester").post("/tester/heartbeat", json={"slots": -5})  # was a 500 (CHECK)
    refused(r, 400, "invalid", "slots")
    assert models.Tester.objects.get(name="t1").slots == 1
    r = cast.api("tester").post("/tester/heartbeat", json={"slots": 4})
    assert r.status_code == 200 and models.Tester.objects.get(name="t1").slots == 4


@pytest.mark.parametrize("body", [b"0.0", b"[]", b'"x"', b"null", b"{"])
def test_a_json_body_that_is_not_an_object_is_refused(cast, body):
    # a heartbeat's fields are all optional: "0.0" was read as an empty heartbeat
    r = Client().post(
        "/api/tester/heartbeat",
        body,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {cast.tester_token}",
    )
    refused(r, 400, "invalid")


@pytest.mark.parametrize("points", ["Infinity", "NaN", "1e400", "false", '"3"'])
def test_points_must_be_a_finite_number(cast, points):
    r = Client().patch(
        f"/api/assignments/{cast.sum.id}",
        f'{{"points": {points}}}',
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {cast.tokens['teacher']}",
    )
    refused(r, 400, "invalid", "points")
    cast.sum.refresh_from_db()
    assert cast.sum.points == 10


# -- NUL characters: PostgreSQL cannot store (or even compare) them; each was a 500 there ---------


@pytest.mark.parametrize(
    "who, method, path, data",
    [
        ("alice", "get", "/submissions", {"author": "a\x00b"}),
        ("admin", "get", "/jobs", {"state": "a\x00b"}),
        ("alice", "get", "/courses/a%00b", None),
        ("teacher", "post", "/assignments/{sum}/submissions", {"for_user": "a\x00b"}),
        ("teacher", "post", "/courses/prog1/assignments", {"slug": "a\x00"}),
        ("teacher", "patch", "/assignments/{sum}", {"title": "a\x00b"}),
        ("tester", "post", "/tester/heartbeat", {"runtimes": ["c\x00"]}),
        ("tester", "post", "/tester/jobs/1/fail", {"attempt": 1, "error": "a\x00b"}),
    ],
)
def test_text_with_a_nul_character_is_refused(cast, who, method, path, data):
    api = cast.api(who)
    path = path.format(sum=cast.sum.id)
    if method == "get":
        r = api.get(path, **(data or {}))
    elif method == "patch" or who == "tester":
        r = getattr(api, method)(path, json=data) if method == "post" else api.patch(path, data)
    else:
        files = {"files": [SimpleUploadedFile("sum.c", SUM_OK)]}
        files = files if "submissions" in path else {"package": SimpleUploadedFile("p.zip", b"PK")}
        r = api.post(path, {**data, **files})
    error = r.json()["error"]
    assert r.status_code in (400, 404), r.content
    assert "NUL" in error["message"] or error["code"] == "not_found", error
    assert nothing_stored()
