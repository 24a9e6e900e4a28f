"""The similarity engine (assay/similarity) on small programs: what a plagiarist changes
cheaply — names, the order of functions, dead code, comments — leaves a copy scored high; two
programs written apart score low; the teacher's base code counts for nobody; the regions name
the right lines on both sides; and the engine's own process speaks its JSON protocol."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from assay.similarity.engine import Document, Options, compare
from assay.similarity.fingerprints import kgram_hashes, winnow
from assay.similarity.tiling import greedy_string_tiling
from assay.similarity.tokens import tokenise

STATS = """\
#include <stdio.h>

/* the sum of the values */
long total(const int *values, int count) {
    long sum = 0;
    for (int i = 0; i < count; i++) {
        sum += values[i];
    }
    return sum;
}

/* the largest value */
int largest(const int *values, int count) {
    int best = values[0];
    for (int i = 1; i < count; i++) {
        if (values[i] > best) {
            best = values[i];
        }
    }
    return best;
}

/* how many are above the mean */
int above_mean(const int *values, int count) {
    double mean = (double)total(values, count) / count;
    int above = 0;
    for (int i = 0; i < count; i++) {
        if (values[i] > mean) {
            above++;
        }
    }
    return above;
}

int main(void) {
    int values[1000], count = 0;
    while (count < 1000 && scanf("%d", &values[count]) == 1) {
        count++;
    }
    if (count == 0) {
        printf("no input\\n");
        return 1;
    }
    printf("%ld %d %d\\n", total(values, count), largest(values, count), above_mean(values, count));
    return 0;
}
"""

WORDS = """\
import sys
from collections import Counter


def words(text):
    \"\"\"The words of the text, lower case.\"\"\"
    return [w.strip(".,;:!?").lower() for w in text.split()]


def main():
    counts = Counter(words(sys.stdin.read()))
    for word, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:10]:
        print(f"{word}: {n}")
    with open("log.txt", "a") as log:
        log.write(str(len(counts)) + "\\n")


if __name__ == "__main__":
    main()
"""


def renamed(text: str) -> str:
    for old, new in [("values", "arr"), ("count", "n"), ("total", "add_up"), ("largest", "maxi"),
                     ("above_mean", "over_avg"), ("best", "m"), ("sum", "acc"), ("mean", "avg"),
                     ("above", "k")]:  # fmt: skip
        text = text.replace(old, new)
    return text


def functions(text: str) -> list[str]:
    return text.split("\n\n")


def reordered(text: str) -> str:
    head, total, largest, above, main = functions(text)
    return "\n\n".join(
        [head, above.replace("(double)total", "(double)total"), largest, total, main]
    )


def with_dead_code(text: str) -> str:
    out = []
    for n, line in enumerate(text.split("\n")):
        out.append(line)
        if line.endswith(";") and n % 3 == 0:
            out.append(f"    int unused_{n} = {n}; (void)unused_{n};")
    return "\n".join(out)


def with_other_comments(text: str) -> str:
    import re

    text = re.sub(r"/\*.*?\*/", "// my own helper, written at night", text)
    return text.replace("{\n", "{ // opens\n")


def similarity(a: str, b: str, name: str = "main.c", **options) -> float:
    report = compare(
        [Document("a", [(name, a)]), Document("b", [(name, b)])], options=Options(**options)
    )
    return report.pairs[0].similarity if report.pairs else 0.0


def test_an_identical_copy_scores_one():
    assert similarity(STATS, STATS) == 1.0


@pytest.mark.parametrize(
    "disguise", [renamed, reordered, with_dead_code, with_other_comments], ids=lambda f: f.__name__
)
def test_a_disguised_copy_still_scores_high(disguise):
    assert similarity(STATS, disguise(STATS)) >= 0.8


def test_all_four_disguises_at_once_still_score_high():
    copy = renamed(with_other_comments(with_dead_code(reordered(STATS))))
    assert similarity(STATS, copy) >= 0.75


def test_a_reordered_copy_is_matched_in_every_function_where_it_moved():
    copy = reordered(STATS)
    report = compare([Document("a", [("a.c", STATS)]), Document("b", [("b.c", copy)])])
    covered = {n for r in report.pairs[0].regions for n in range(r.b_first, r.b_last + 1)}
    lines = copy.split("\n")
    starts = [n for n, line in enumerate(lines, start=1) if line.endswith(") {") and line[0] != " "]
    for start, end in zip(starts, [*starts[1:], len(lines)], strict=True):
        body = [n for n in range(start, end) if lines[n - 1].strip() not in ("", "}")]
        # (at least most of it: a short function's lines may be matched with a look-alike's)
        assert sum(n in covered for n in body) >= 0.6 * len(body), lines[start - 1]


def test_programs_written_apart_score_low():
    # the same task (sum and maximum of the input) written by two people: idioms, not copies
    other = """\
#include <stdio.h>
int main() {
    int x, mx = -2147483647 - 1, have = 0;
    long long s = 0;
    while (scanf("%d", &x) == 1) { s = s + x; if (!have || x > mx) mx = x; have = 1; }
    if (!have) { puts("no input"); return 1; }
    printf("%lld %d\\n", s, mx);
    return 0;
}
"""
    assert similarity(STATS, other, report_floor=0.0, candidate_share=0.0, min_shared=0) < 0.25


def test_different_languages_share_nothing():
    report = compare([Document("c", [("a.c", STATS)]), Document("py", [("a.py", WORDS)])])
    assert report.pairs == []


def test_base_code_counts_for_nobody():
    # both students kept the teacher's skeleton (main) and wrote their own functions
    skeleton = functions(STATS)[0] + "\n\n" + functions(STATS)[-1]
    alice = STATS
    bob = functions(STATS)[0] + "\n\n" + WORDS_IN_C + "\n\n" + functions(STATS)[-1]
    without = similarity(alice, bob)
    report = compare(
        [Document("alice", [("a.c", alice)]), Document("bob", [("b.c", bob)])],
        base_files=[("skeleton.c", skeleton)],
        options=Options(report_floor=0.0, candidate_share=0.0, min_shared=0),
    )
    with_base = report.pairs[0].similarity if report.pairs else 0.0
    assert without > 0.3 and with_base < 0.1


WORDS_IN_C = """\
int vowels(const char *s) {
    int k = 0;
    while (*s) { if (strchr("aeiou", *s++)) k++; }
    return k;
}

void reverse(char *s) {
    size_t n = strlen(s);
    for (size_t i = 0; i + 1 < n - i; i++) { char t = s[i]; s[i] = s[n - 1 - i]; s[n - 1 - i] = t; }
}
"""


def test_regions_name_the_matching_lines_and_files_on_both_sides():
    helper = functions(STATS)[2]  # largest(), 10 lines
    a_files = [("main.c", STATS), ("README.md", "not code")]
    b_text = "#include <stdio.h>\n\n" + WORDS_IN_C + "\n" + helper + "\n"
    report = compare(
        [Document("a", a_files), Document("b", [("util.h", "int x;\n"), ("util.c", b_text)])],
        options=Options(report_floor=0.0, candidate_share=0.0, min_shared=0),
    )
    (pair,) = report.pairs
    longest = max(pair.regions, key=lambda r: r.tokens)
    a_start = STATS.split("\n").index("int largest(const int *values, int count) {") + 1
    b_start = b_text.split("\n").index("int largest(const int *values, int count) {") + 1
    assert (longest.a_file, longest.b_file) == ("main.c", "util.c")
    # the function's 9 lines, and at most the closing brace before it (equal tokens too)
    assert a_start - 3 <= longest.a_first <= a_start and longest.a_last == a_start + 8
    assert b_start - 3 <= longest.b_first <= b_start and longest.b_last == b_start + 8


def test_a_match_never_spans_two_files():
    first, second = functions(STATS)[1], functions(STATS)[2]
    a = [("one.c", first), ("two.c", second)]
    b = [("all.c", first + "\n" + second)]
    report = compare([Document("a", a), Document("b", b)])
    for region in report.pairs[0].regions:
        assert region.a_file in ("one.c", "two.c") and region.b_file == "all.c"
    assert len(report.pairs[0].regions) >= 2


def test_a_document_without_source_code_is_set_aside():
    report = compare(
        [Document("a", [("main.c", STATS)]), Document("notes", [("notes.txt", "hello")])]
    )
    assert report.without_code == ["notes"] and report.documents == 1


def test_two_past_years_documents_are_not_compared():
    report = compare(
        [
            Document("old1", [("a.c", STATS)], current=False),
            Document("old2", [("a.c", STATS)], current=False),
            Document("now", [("a.c", reordered(STATS))]),
        ]
    )
    assert sorted((p.a, p.b) for p in report.pairs) == [("old1", "now"), ("old2", "now")]


def test_comments_docstrings_and_names_do_not_count_in_python():
    plain, _ = tokenise([("w.py", WORDS)])
    changed = WORDS.replace('"""The words of the text, lower case."""', '"""Other words."""')
    changed = changed.replace("counts", "tally").replace("# ", "# x")
    again, _ = tokenise([("w.py", changed)])
    assert plain.kinds[:-1] == again.kinds[:-1]


def test_the_tiling_of_a_moved_block_finds_it():
    a = list(range(40))
    b = list(range(20, 40)) + [99] * 5 + list(range(20))
    k = 5
    tiles = greedy_string_tiling(a, b, k, kgram_hashes(a, k), kgram_hashes(b, k))
    assert sorted((t.a, t.b, t.length) for t in tiles) == [(0, 25, 20), (20, 0, 20)]


def test_winnowing_keeps_a_fingerprint_of_every_long_shared_run():
    shared = [7, 3, 9, 1, 4, 4, 8, 2, 6, 5, 0, 3, 3, 1, 8]
    a, b = [11, 12, *shared, 13], [21, *shared, 22, 23, 24]
    k, w = 4, 5  # guaranteed for runs of k + w - 1 = 8 tokens
    fa = winnow(kgram_hashes(a, k), w)
    fb = winnow(kgram_hashes(b, k), w)
    assert set(fa) & set(fb)


def test_the_engine_process_reports_progress_and_the_result_as_json_lines():
    given = {
        "documents": [
            {"key": "1", "files": [["a.c", STATS]]},
            {"key": "2", "files": [["b.c", renamed(STATS)]]},
        ],
        "base": None,
        "options": {"min_match": 15},
    }
    done = subprocess.run(
        [sys.executable, "-m", "assay.similarity"], input=json.dumps(given), capture_output=True,
        text=True, check=True, timeout=60,
    )  # fmt: skip
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert {"stage": "tokenising", "done": 2, "total": 2} in lines
    report = lines[-1]["report"]
    assert report["pairs"][0]["similarity"] == 1.0 and report["documents"] == 2


def test_the_engine_process_refuses_input_it_cannot_read():
    done = subprocess.run(
        [sys.executable, "-m", "assay.similarity"], input="[]", capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert done.returncode == 2 and "error:" in done.stderr


def test_worker_processes_give_the_same_report():
    documents = [
        Document(str(n), [("a.c", text)])
        for n, text in enumerate(
            [STATS, renamed(STATS), reordered(STATS), with_dead_code(STATS)] * 3
        )
    ]
    one = compare(documents, options=Options(workers=1))
    two = compare(documents, options=Options(workers=2))
    assert one.pairs == two.pairs and one.candidates == two.candidates == 66
