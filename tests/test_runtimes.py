import pytest

from assay.runtimes import detect_runtime, find_main, get_runtime


def test_it_detects_the_language_by_extension():
    assert detect_runtime(["a.c", "a.h"]).name == "c"
    assert detect_runtime(["main.cpp", "util.h"]).name == "cpp"
    assert detect_runtime(["x.py"]).name == "python3"
    assert detect_runtime(["Main.java"]).name == "java"
    assert detect_runtime(["a.js"]).name == "javascript"
    assert detect_runtime(["a.rs"]).name == "rust"
    assert detect_runtime(["a.sh"]).name == "bash"


def test_it_explains_an_unknown_or_mixed_language():
    with pytest.raises(KeyError, match="cannot tell the language"):
        detect_runtime(["notes.txt"])
    with pytest.raises(KeyError, match="several languages"):
        detect_runtime(["a.py", "b.java"])


def test_it_finds_the_java_main_class_with_its_package():
    files = {
        "Util.java": b"class Util {}",
        "App.java": b"package org.x;\npublic class App { public static void main(String[] a) {} }",
    }
    assert find_main(get_runtime("java"), files) == "org.x.App"


def test_it_picks_main_py_among_several_files():
    assert find_main(get_runtime("python3"), {"util.py": b"", "main.py": b""}) == "main.py"
    with pytest.raises(KeyError, match="which file to run"):
        find_main(get_runtime("python3"), {"a.py": b"", "b.py": b""})


def test_aliases_resolve():
    assert get_runtime("C++").name == "cpp"
    assert get_runtime("node").name == "javascript"
