import io

from assay.judges import judge_exact, judge_lines_unordered, judge_output, judge_tokens
from assay.package.model import Judge, Verdict


def test_exact_accepts_identical_bytes_only():
    assert judge_exact(b"1 2\n", b"1 2\n").verdict is Verdict.AC
    r = judge_exact(b"1 2\n", b"1  2\n")
    assert r.verdict is Verdict.WA
    assert "line 1" in r.message


def test_exact_names_a_missing_line():
    r = judge_exact(b"a\nb\nc\n", b"a\n")
    assert r.verdict is Verdict.WA
    assert "line 2" in r.message


def test_tokens_ignore_white_space():
    assert judge_tokens(b"1 2\n3\n", b"1\n2 3").verdict is Verdict.AC


def test_tokens_name_the_first_difference_with_its_line():
    r = judge_tokens(b"1\n2\n3\n", b"1\n2\n4\n")
    assert r.verdict is Verdict.WA
    assert "line 3" in r.message and "'3'" in r.message and "'4'" in r.message


def test_tokens_report_early_end_and_extra_output():
    assert "ended early" in judge_tokens(b"1 2", b"1").message
    assert "unexpected output" in judge_tokens(b"1", b"1 2").message


def test_case_insensitive_tokens():
    assert judge_tokens(b"Yes", b"YES", case_sensitive=False).verdict is Verdict.AC
    assert judge_tokens(b"Yes", b"YES", case_sensitive=True).verdict is Verdict.WA


def test_space_sensitive_tokens_reject_changed_white_space():
    assert judge_tokens(b"1 2\n", b"1 2\n", space_sensitive=True).verdict is Verdict.AC
    r = judge_tokens(b"1 2\n", b"1  2\n", space_sensitive=True)
    assert r.verdict is Verdict.WA
    assert "white space" in r.message


def test_float_absolute_tolerance():
    assert judge_tokens(b"1.0", b"1.0000009", abs_tol=1e-6).verdict is Verdict.AC
    assert judge_tokens(b"1.0", b"1.000002", abs_tol=1e-6).verdict is Verdict.WA


def test_float_relative_tolerance():
    assert judge_tokens(b"1000000", b"1000000.9", rel_tol=1e-6).verdict is Verdict.AC
    assert judge_tokens(b"1000000", b"1000002", rel_tol=1e-6).verdict is Verdict.WA


def test_float_tolerance_does_not_accept_words_or_nan_for_numbers():
    assert judge_tokens(b"1.5", b"abc", abs_tol=1).verdict is Verdict.WA
    assert judge_tokens(b"1.5", b"nan", abs_tol=1).verdict is Verdict.WA


def test_lines_unordered_accepts_shuffled_lines():
    assert judge_lines_unordered(b"a\nb\nc\n", b"c\na\nb").verdict is Verdict.AC


def test_lines_unordered_counts_duplicates():
    r = judge_lines_unordered(b"a\na\nb\n", b"a\nb\nb\n")
    assert r.verdict is Verdict.WA
    assert "missing line 'a'" in r.message


def test_judge_output_dispatches_on_the_kind():
    assert judge_output(Judge(kind="exact"), b"x\n", b"x").verdict is Verdict.WA
    assert judge_output(Judge(kind="tokens"), b"x\n", b"x").verdict is Verdict.AC


# --- streaming: the same verdicts whatever the chunk boundaries, in bounded memory ----------

import random  # noqa: E402

import pytest  # noqa: E402

import assay.judges as judges  # noqa: E402


def reference_tokens(expected: bytes, output: bytes, case_sensitive=True) -> bool:
    e, o = expected.split(), output.split()
    if not case_sensitive:
        e, o = [t.lower() for t in e], [t.lower() for t in o]
    return e == o


@pytest.fixture
def tiny_chunks(monkeypatch):
    monkeypatch.setattr(judges, "CHUNK", 7)
    monkeypatch.setattr(judges, "LONG_TOKEN", 5)


def random_text(rng: random.Random) -> bytes:
    words = [b"a", b"B", b"abc", b"12", b"x" * rng.randint(1, 40), b"Yes"]
    parts = []
    for _ in range(rng.randint(0, 30)):
        parts.append(rng.choice(words))
        parts.append(rng.choice([b" ", b"\n", b"  \t", b"\r\n"]))
    return b"".join(parts)


def test_token_verdicts_do_not_depend_on_chunk_boundaries(tiny_chunks):
    rng = random.Random(8)
    for _ in range(400):
        a = random_text(rng)
        b = a if rng.random() < 0.4 else random_text(rng)
        if rng.random() < 0.3:  # the same tokens with other white space
            b = b" ".join(a.split()) + b"\n"
        for case in (True, False):
            got = judge_tokens(a, b, case_sensitive=case).verdict is Verdict.AC
            assert got == reference_tokens(a, b, case), (a, b, case)


def test_exact_and_unordered_verdicts_do_not_depend_on_chunk_boundaries(tiny_chunks):
    rng = random.Random(9)
    for _ in range(300):
        a = random_text(rng)
        b = a if rng.random() < 0.4 else random_text(rng)
        assert (judge_exact(a, b).verdict is Verdict.AC) == (a == b), (a, b)
        lines = sorted(x.rstrip() for x in a.split(b"\n") if x.strip())
        shuffled = lines[:]
        rng.shuffle(shuffled)
        assert judge_lines_unordered(a, b"\n".join(shuffled)).verdict is Verdict.AC


def test_a_long_token_is_compared_whole_and_shown_by_its_head(tiny_chunks):
    long = b"7" * 100
    assert judge_tokens(b"1 " + long + b" 2", b"1\n" + long + b"\n2").verdict is Verdict.AC
    r = judge_tokens(b"1 " + long + b" 2", b"1 " + long[:-1] + b"8 2")
    assert r.verdict is Verdict.WA and "(100 bytes)" in r.message
    assert judge_tokens(long, long.replace(b"7", b"7", 99) + b"7").verdict is Verdict.WA


def test_the_line_of_a_difference_is_named_across_chunks(tiny_chunks):
    expected = b"".join(b"%d\n" % i for i in range(50))
    output = expected.replace(b"\n37\n", b"\n73\n")
    r = judge_tokens(expected, output)
    assert r.verdict is Verdict.WA and "line 38" in r.message, r.message
    r = judge_exact(expected, output)
    assert "line 38" in r.message, r.message


def test_long_lines_compare_by_content_whatever_the_chunks(tiny_chunks):
    long = b"x y " * 10
    a = long + b"\n" + b"short\n" + long + b"   \t\n"
    b = b"short\n" + long + b"\n" + long
    assert judge_lines_unordered(a, b).verdict is Verdict.AC
    r = judge_lines_unordered(a, b"short\n" + long + b"\n" + long + b"!")
    assert r.verdict is Verdict.WA and "missing line" in r.message


def test_long_white_space_runs_compare_whatever_the_chunks(tiny_chunks):
    a = b"1" + b" " * 30 + b"2\n"
    assert judge_tokens(a, a[:], space_sensitive=True).verdict is Verdict.AC
    b = b"1" + b" " * 31 + b"2\n"
    assert judge_tokens(a, b, space_sensitive=True).verdict is Verdict.WA
    assert judge_tokens(a, b, space_sensitive=False).verdict is Verdict.AC


def test_an_identical_prefix_is_skipped_and_lines_still_counted(monkeypatch):
    monkeypatch.setattr(judges, "CHUNK", 7)
    expected = b"".join(b"%d\n" % i for i in range(100))
    output = expected.replace(b"\n97\n", b"\n97.0000001\n")
    assert judge_tokens(expected, output, abs_tol=1e-6).verdict is Verdict.AC
    r = judge_tokens(expected, output)
    assert "line 98" in r.message, r.message
    assert "line 99 of the expected" in judge_tokens(expected, expected[:-6]).message


def test_a_case_insensitive_judge_shows_the_tokens_as_written(tiny_chunks):
    r = judge_tokens(b"Yes No\n", b"YES Maybe\n", case_sensitive=False)
    assert r.verdict is Verdict.WA and "'No'" in r.message and "'Maybe'" in r.message
    long = b"Ab" * 20
    assert judge_tokens(long, long.upper(), case_sensitive=False).verdict is Verdict.AC
    assert judge_tokens(long, long.upper(), case_sensitive=True).verdict is Verdict.WA


@pytest.mark.parametrize("kind", ["tokens", "exact", "lines_unordered"])
def test_judging_a_huge_output_keeps_memory_flat(tmp_path, kind):
    """A hostile 16 MiB of one-byte tokens once cost the tester gigabytes (every token a Python
    object): now a few chunks at a time, whatever the verdict."""
    import tracemalloc

    from assay.judges import judge_files

    expected, same, differs = tmp_path / "e", tmp_path / "s", tmp_path / "d"
    data = b"1\n" * (8 * 1024 * 1024)
    expected.write_bytes(b"1\n" * 3)  # a short answer: the output goes on and on
    same.write_bytes(data)
    differs.write_bytes(data[:-2] + b"2\n")
    del data
    tracemalloc.start()
    try:
        for answer, output in ((same, same), (same, differs), (expected, same)):
            tracemalloc.reset_peak()
            judge_files(Judge(kind=kind), answer, output)
            _, peak = tracemalloc.get_traced_memory()
            assert peak < 4 * 1024 * 1024, (answer.name, output.name, peak)
    finally:
        tracemalloc.stop()


def test_floats_within_the_tolerance_cost_no_line_search(monkeypatch):
    """A line number is found (by scanning the batch) only for the difference that is reported:
    it was found for every token that differed in its text, which made a float-tolerance
    answer of 10^5 numbers quadratic (80 s of `assay check` for kattis-distance)."""
    searched = []
    original = judges.Batch.line_of

    def counting(self, index):
        searched.append(index)
        return original(self, index)

    monkeypatch.setattr(judges.Batch, "line_of", counting)
    expected = "".join(f"{i / 7:.10f}\n" for i in range(20_000)).encode()
    output = "".join(f"{i / 7:.12f}\n" for i in range(20_000)).encode()  # all within 1e-6
    result = judges.judge_token_files(io.BytesIO(expected), io.BytesIO(output), abs_tol=1e-6)
    assert result.verdict == Verdict.AC and searched == []
    line = f"\n{10_000 / 7:.12f}\n".encode()  # line 10001
    wrong = output.replace(line, b"\n1428.5\n")
    assert wrong != output
    result = judges.judge_token_files(io.BytesIO(expected), io.BytesIO(wrong), abs_tol=1e-6)
    assert result.verdict == Verdict.WA and len(searched) == 1
    assert result.message.startswith(f"line 10001: expected '{10_000 / 7:.10f}', got '1428.5'")
