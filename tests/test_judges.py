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
