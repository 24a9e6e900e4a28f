import io
import stat
import zipfile

import pytest

from assay.lib.archive import ArchiveError, ArchiveLimits, extract_zip


def make_zip(entries, symlink=None):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries:
            zf.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink[0])
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, symlink[1])
    return buf.getvalue()


def test_it_extracts_plain_files(tmp_path):
    names = extract_zip(make_zip([("a.c", "int x;"), ("dir/b.h", "")]), tmp_path)
    assert sorted(names) == ["a.c", "dir/b.h"]
    assert (tmp_path / "a.c").read_text() == "int x;"


@pytest.mark.parametrize("name", ["../evil", "a/../../evil", "/etc/passwd", "a\\..\\b"])
def test_it_rejects_a_path_traversal(tmp_path, name):
    with pytest.raises(ArchiveError, match="not allowed"):
        extract_zip(make_zip([(name, "x")]), tmp_path / "out")
    assert not (tmp_path / "evil").exists()


def test_it_rejects_symlinks(tmp_path):
    with pytest.raises(ArchiveError, match="symlinks"):
        extract_zip(make_zip([], symlink=("link", "/etc/shadow")), tmp_path)


def test_it_rejects_duplicate_names_also_by_case(tmp_path):
    with pytest.raises(ArchiveError, match="duplicate"):
        extract_zip(make_zip([("Main.java", "a"), ("main.java", "b")]), tmp_path)


def test_it_rejects_a_zip_bomb_by_ratio(tmp_path):
    with pytest.raises(ArchiveError, match="ratio"):
        extract_zip(make_zip([("zeros", b"\0" * (20 * 1024 * 1024))]), tmp_path)


def test_it_counts_bytes_actually_written_not_the_header(tmp_path):
    data = make_zip([("big", b"x" * 5000)])
    limits = ArchiveLimits(max_member_bytes=100_000, max_total_bytes=1000, max_ratio=1e9)
    with pytest.raises(ArchiveError, match="larger than allowed"):
        extract_zip(data, tmp_path, limits)


def test_it_rejects_too_many_members(tmp_path):
    with pytest.raises(ArchiveError, match="too many"):
        extract_zip(
            make_zip([(f"f{i}", "") for i in range(5)]), tmp_path, ArchiveLimits(max_members=3)
        )


def test_it_rejects_garbage(tmp_path):
    with pytest.raises(ArchiveError, match="not a valid zip"):
        extract_zip(b"PK\x03\x04 this is not a zip", tmp_path)


def test_files_in_one_top_folder_are_taken_from_that_folder():
    from assay.lib.archive import as_submitted

    assert as_submitted({"hw/a/main.py": b"1", "hw/a/util.py": b"2"}) == {
        "main.py": b"1",
        "util.py": b"2",
    }
    # two top folders, or a file at the top: kept as they are
    assert as_submitted({"a/x.py": b"", "b/y.py": b""}) == {"a/x.py": b"", "b/y.py": b""}
    assert as_submitted({"x.py": b"", "b/y.py": b""}) == {"x.py": b"", "b/y.py": b""}
    assert as_submitted({"hw/main.py": b"", "__MACOSX/hw/._main.py": b"", "hw/.DS_Store": b""}) == {
        "main.py": b""
    }


def zip_with_links(members: dict[str, bytes], links: dict[str, str]) -> bytes:
    import stat as st

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
        for name, target in links.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (st.S_IFLNK | 0o777) << 16
            zf.writestr(info, target)
    return buf.getvalue()


def test_a_package_link_inside_the_archive_becomes_a_copy_of_its_target(tmp_path):
    data = zip_with_links(
        {"data/secret/a/1.in": b"1\n", "data/secret/a/1.ans": b"2\n"},
        {
            "data/secret/b/1.in": "../a/1.in",  # a file
            "data/secret/c": "a",  # a directory
            "data/secret/d/1.in": "../b/1.in",  # a link to a link
        },
    )
    names = extract_zip(data, tmp_path, links=True)
    assert sorted(names) == sorted(
        ["data/secret/a/1.in", "data/secret/a/1.ans", "data/secret/b/1.in",
         "data/secret/c/1.in", "data/secret/c/1.ans", "data/secret/d/1.in"]
    )  # fmt: skip
    assert (tmp_path / "data/secret/d/1.in").read_bytes() == b"1\n"
    assert not any(p.is_symlink() for p in tmp_path.rglob("*"))


@pytest.mark.parametrize(
    "links, said",
    [
        ({"x": "../outside"}, "leaves the archive"),
        ({"x": "/etc/passwd"}, "leaves the archive"),
        ({"a/x": "../../etc"}, "leaves the archive"),
        ({"x": "y", "y": "x"}, "dangles or loops"),
        ({"x": "missing"}, "dangles or loops"),
    ],
)
def test_a_package_link_that_leaves_dangles_or_loops_is_refused(tmp_path, links, said):
    with pytest.raises(ArchiveError, match=said):
        extract_zip(zip_with_links({"f": b""}, links), tmp_path / "out", links=True)


def test_links_are_refused_outside_packages(tmp_path):
    with pytest.raises(ArchiveError, match="symlinks"):
        extract_zip(zip_with_links({"f": b""}, {"x": "f"}), tmp_path)


def test_copies_of_links_count_against_the_size_cap(tmp_path):
    from assay.lib.archive import ArchiveLimits

    links = {f"copy{i}": "big" for i in range(10)}
    data = zip_with_links({"big": b"x" * 1000}, links)
    with pytest.raises(ArchiveError, match="size cap"):
        extract_zip(data, tmp_path, ArchiveLimits(max_total_bytes=5000), links=True)
