"""Submitted code: the pages (highlighted files, the zip, one file, the differences between two
submissions) and the API's endpoints for the same, with the submission page's permissions.

The cast is conftest's: Alice's code is seen by Alice, the teacher of prog1 and the
administrator; Bob (her classmate), Carol (another course's student) and Tina (another course's
supervisor) get a 404, as if it did not exist."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pytest
from django.test import Client
from pygments.styles import get_style_by_name

from assay.storer.courses.models import Assignment
from assay.storer.evaluation import services, submitted
from assay.storer.web import highlight

from .conftest import SUM_OK, package_zip
from .test_poll_cost import queries_of

WHO = [None, "alice", "bob", "carol", "teacher", "tina", "admin"]
SEES = {"alice", "teacher", "admin"}


def submit(cast, files: dict[str, bytes], who: str = "alice", assignment=None):
    user = cast.users[who]
    return services.create_submission(assignment or cast.sum, user, user, files)


def login(cast, who: str | None) -> Client:
    c = Client()
    if who:
        c.force_login(cast.users[who])
    return c


@pytest.fixture
def two(cast):
    """Alice's two submissions: the second changes sum.c, adds notes.txt and drops util.h."""
    first = submit(cast, {"sum.c": SUM_OK, "util.h": b"/* helper */\n"})
    second = submit(cast, {"sum.c": SUM_OK.replace(b"a+b", b"b+a"), "notes.txt": b"swapped\n"})
    return first, second


PAGES = ["/submissions/{s}/code/", "/submissions/{s}/code/part/", "/submissions/{s}/files.zip",
         "/submissions/{s}/files/sum.c", "/submissions/{s}/compare/?against={p}"]  # fmt: skip
API = ["/submissions/{s}/files", "/submissions/{s}/files/sum.c", "/submissions/{s}/archive",
       "/submissions/{s}/diff?against={p}"]  # fmt: skip


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("who", WHO)
def test_only_the_author_and_the_courses_staff_see_the_pages(cast, two, path, who):
    r = login(cast, who).get(path.format(s=two[1].id, p=two[0].id))
    if who is None:
        assert r.status_code == 302 and r["Location"].startswith("/login/")
    else:
        assert r.status_code == (200 if who in SEES else 404), r.content[:300]


@pytest.mark.parametrize("path", API)
@pytest.mark.parametrize("who", WHO)
def test_only_the_author_and_the_courses_staff_use_the_endpoints(cast, two, path, who):
    r = cast.api(who).get(path.format(s=two[1].id, p=two[0].id))
    expected = 401 if who is None else 200 if who in SEES else 404
    assert r.status_code == expected, r.content[:300]
    if expected != 200:
        assert r.json()["error"]["code"] in ("unauthenticated", "not_found")


def test_the_page_highlights_every_file_with_numbered_line_anchors(cast, two):
    html = login(cast, "alice").get(f"/submissions/{two[0].id}/code/").content.decode()
    assert html.count('class="code-file"') == 2
    # sum.c is C: #include is a preprocessor directive; line 2 of the first file has an anchor
    assert '<span class="cp">#include' in html
    assert '<span class="line" id="f1-L2"><a class="ln" href="#f1-L2"' in html
    assert 'id="f2-L1"' in html and 'id="f2-L2"' not in html  # util.h has one line
    assert 'role="region" aria-label="Code of sum.c" tabindex="0"' in html
    assert "/static/web/pygments.css" in html


def test_the_submission_page_loads_the_code_and_offers_the_zip(cast, two):
    html = login(cast, "alice").get(f"/submissions/{two[1].id}/").content.decode()
    assert f'hx-get="/submissions/{two[1].id}/code/part/"' in html
    assert f'href="/submissions/{two[1].id}/files.zip"' in html
    part = login(cast, "alice").get(f"/submissions/{two[1].id}/code/part/").content.decode()
    assert f'href="/submissions/{two[1].id}/compare/?against={two[0].id}"' in part
    first = login(cast, "alice").get(f"/submissions/{two[0].id}/code/part/").content.decode()
    assert "Compare with" not in first  # nothing before the first submission


def test_a_file_of_an_unknown_kind_is_plain_text_and_lines_keep_their_numbers(cast):
    s = submit(cast, {"sum.c": SUM_OK, "README.weird": b"\n\nthird line\r\nfourth\n"})
    html = login(cast, "alice").get(f"/submissions/{s.id}/code/").content.decode()
    readme = html[html.index("README.weird") :]
    assert 'id="f1-L3"' in readme and "third line" in readme and 'id="f1-L4"' in readme
    assert 'id="f1-L5"' not in readme


def test_hostile_files_are_shown_safely(cast):
    huge = b"x = 1\n" * 60_000  # 360 KB: more than the 256 KiB shown
    files = {
        "sum.c": SUM_OK,
        "image.bin": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)),
        "latin1.txt": "café ölçü\n".encode("latin-1"),
        "<img src=x onerror=alert(1)>.c": b"int x; /* </pre><script>alert(1)</script> */\n",
        "huge.py": huge,
    }
    s = submit(cast, files)
    html = login(cast, "alice").get(f"/submissions/{s.id}/code/").content.decode()
    assert f"Binary file, {len(files['image.bin'])} bytes" in html
    assert "caf\ufffd \ufffdl\ufffd\ufffd" in html  # undecodable bytes replaced, not an error
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;.c" in html
    assert "<script>alert" not in html and "&lt;/pre&gt;&lt;script&gt;" in html
    assert "Only the first 256 KiB of this file are shown" in html
    shown = submitted.FILE_CAP_BYTES // len(b"x = 1\n")
    assert f'id="f2-L{shown}"' in html and f'id="f2-L{shown + 2}"' not in html


def test_a_page_shows_at_most_a_mebibyte_and_lists_the_rest(cast, settings):
    settings.MAX_UPLOAD_TOTAL_BYTES = 8 * 1024 * 1024
    files = {"sum.c": SUM_OK} | {f"big{i}.txt": b"y" * 250_000 + b"\n" for i in range(6)}
    s = submit(cast, files)
    html = login(cast, "alice").get(f"/submissions/{s.id}/code/").content.decode()
    assert html.count("this page shows at most 1024 KiB of code") >= 1
    assert html.count('class="code-file"') == 7


def test_many_files_cost_no_more_queries_than_one(cast):
    one = submit(cast, {"sum.c": SUM_OK})
    many = submit(cast, {"sum.c": SUM_OK} | {f"part{i}.h": b"int x;\n" for i in range(40)})
    for who in ("alice", "teacher"):
        c = login(cast, who)
        for path in ("/submissions/{s}/code/part/", "/submissions/{s}/code/"):
            c.get(path.format(s=one.id))  # the session, read once
            few = queries_of(lambda c=c, p=path: c.get(p.format(s=one.id)))
            assert queries_of(lambda c=c, p=path: c.get(p.format(s=many.id))) == few, (who, path)
        api = cast.api(who)
        for path in ("/submissions/{s}/files", "/submissions/{s}/diff?against={o}"):
            api.get(path.format(s=one.id, o=one.id))
            few = queries_of(lambda a=api, p=path: a.get(p.format(s=one.id, o=one.id)))
            found = queries_of(lambda a=api, p=path: a.get(p.format(s=many.id, o=one.id)))
            assert found == few, (who, path)


def test_the_zip_holds_the_files_at_its_root_as_submitted(cast):
    s = submit(cast, {"sum.c": SUM_OK, "notes.txt": b"n\n"})
    for r in (
        login(cast, "teacher").get(f"/submissions/{s.id}/files.zip"),
        cast.api("teacher").get(f"/submissions/{s.id}/archive"),
    ):
        assert r["Content-Type"] == "application/zip"
        assert r["Content-Disposition"] == f'attachment; filename="sum-alice-{s.id}.zip"'
        z = zipfile.ZipFile(io.BytesIO(r.content))
        assert sorted(z.namelist()) == ["notes.txt", "sum.c"]
        assert z.read("sum.c") == SUM_OK


def test_one_file_is_a_download_never_a_page(cast):
    s = submit(cast, {"sum.c": SUM_OK, "page.html": b"<script>alert(1)</script>"})
    for r in (
        login(cast, "alice").get(f"/submissions/{s.id}/files/page.html"),
        cast.api("alice").get(f"/submissions/{s.id}/files/page.html"),
    ):
        assert r["Content-Type"] == "application/octet-stream"
        assert r["Content-Disposition"] == 'attachment; filename="page.html"'
        assert b"".join(r.streaming_content) == b"<script>alert(1)</script>"
    assert login(cast, "alice").get(f"/submissions/{s.id}/files/nope.c").status_code == 404
    r = cast.api("alice").get(f"/submissions/{s.id}/files/nope.c")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def test_the_api_lists_the_files_with_their_sizes(cast, two):
    r = cast.api("alice").get(f"/submissions/{two[0].id}/files")
    assert r.json() == [{"name": "sum.c", "size": len(SUM_OK)}, {"name": "util.h", "size": 13}]


def test_the_difference_lists_added_removed_and_changed_files(cast, two):
    first, second = two
    html = login(cast, "alice").get(f"/submissions/{second.id}/compare/?against={first.id}")
    page = html.content.decode()
    assert f"Changes from submission {first.id} to {second.id}" in page
    assert (
        '<span class="d-del">-int main(){long long a,b;scanf(&quot;%lld %lld&quot;,&amp;a,&amp;b);printf(&quot;%lld\\n&quot;,a+b);return 0;}</span>'
        in page
    )
    assert re.search(r'notes\.txt</a> <span class="diff-status diff-added">added', page)
    assert re.search(r'util\.h</a> <span class="diff-status diff-removed">removed', page)
    doc = cast.api("teacher").get(f"/submissions/{second.id}/diff?against={first.id}").json()
    by_name = {f["name"]: f for f in doc["files"]}
    assert (doc["from"], doc["to"]) == (first.id, second.id)
    assert {n: f["status"] for n, f in by_name.items()} == {
        "notes.txt": "added", "sum.c": "changed", "util.h": "removed"
    }  # fmt: skip
    assert by_name["sum.c"]["diff"][0] == "@@ -1,2 +1,2 @@"
    assert by_name["notes.txt"]["diff"] == ["@@ -0,0 +1 @@", "+swapped"]


def test_binary_files_are_compared_without_their_content(cast):
    first = submit(cast, {"sum.c": SUM_OK, "a.bin": b"\x00\x01"})
    second = submit(cast, {"sum.c": SUM_OK, "a.bin": b"\x00\x02"})
    doc = cast.api("alice").get(f"/submissions/{second.id}/diff?against={first.id}").json()
    files = {f["name"]: f for f in doc["files"]}
    assert files["a.bin"] == {"name": "a.bin", "status": "changed", "old_size": 2,
                              "new_size": 2, "binary": True, "truncated": False, "diff": []}  # fmt: skip
    assert files["sum.c"]["status"] == "unchanged"


@pytest.fixture
def other_assignment(cast):
    a = Assignment.objects.create(course=cast.prog1, slug="sum2", title="sum again")
    services.add_version(a, package_zip("sum-c"), cast.users["teacher"], trusted=True)
    a.refresh_from_db()
    return a


def test_staff_are_told_why_two_submissions_cannot_be_compared(cast, two, other_assignment):
    bobs = submit(cast, {"sum.c": SUM_OK}, who="bob")
    elsewhere = submit(cast, {"sum.c": SUM_OK}, assignment=other_assignment)
    for other, why in ((bobs, "same student"), (elsewhere, "same assignment")):
        r = login(cast, "teacher").get(f"/submissions/{two[1].id}/compare/?against={other.id}")
        assert r.status_code == 400 and why in r.content.decode()
        r = cast.api("teacher").get(f"/submissions/{two[1].id}/diff?against={other.id}")
        assert r.status_code == 400
        assert r.json()["error"]["code"] == "not_comparable" and why in r.json()["error"]["message"]
    # Alice owns both of these, so she too is told why
    r = cast.api("alice").get(f"/submissions/{two[1].id}/diff?against={elsewhere.id}")
    assert r.status_code == 400


def test_a_student_comparing_with_a_submission_not_theirs_gets_a_404(cast, two):
    bobs = submit(cast, {"sum.c": SUM_OK}, who="bob")
    r = login(cast, "alice").get(f"/submissions/{two[1].id}/compare/?against={bobs.id}")
    assert r.status_code == 404
    r = cast.api("alice").get(f"/submissions/{two[1].id}/diff?against={bobs.id}")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = login(cast, "alice").get(f"/submissions/{two[1].id}/compare/?against=x")
    assert r.status_code == 400


def test_the_served_stylesheet_is_the_styles_own():
    served = Path(highlight.__file__).parent / "static" / "web" / "pygments.css"
    assert served.read_text() == highlight.stylesheet(), (
        "regenerate: uv run python -c 'import sys; from assay.storer.web.highlight import"
        " stylesheet; sys.stdout.write(stylesheet())' > assay/storer/web/static/web/pygments.css"
    )


def _luminance(colour: str) -> float:
    colour = colour.lstrip("#")
    if len(colour) == 3:
        colour = "".join(c * 2 for c in colour)
    channels = [int(colour[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(foreground: str, background: str) -> float:
    light, dark = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_every_colour_of_the_style_passes_wcag_aa_on_its_background():
    style = get_style_by_name(highlight.STYLE)
    background = style.background_color
    for token, rule in style:
        if rule["color"]:
            behind = "#" + rule["bgcolor"] if rule["bgcolor"] else background
            assert contrast("#" + rule["color"], behind) >= 4.5, (token, rule["color"])
