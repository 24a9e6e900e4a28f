"""Results that explain themselves (issue 11, part 4), in the API's submission document and on
the submission page: points per group and per test, partial scores, no difference where none
means anything, the checker's message, a crash's stderr for visible tests, and progress while
the evaluation runs.

Alice submits to two more assignments of prog1: "groups" (examples/groups-python: an easy
group that counts each test, e1 visible, and a hard all-or-nothing group) and "pairs"
(examples/checker-cpp: a custom checker with partial scores, test 1 visible). Her program
for "groups" crashes, writing to stderr, on e1 (visible) and h2 (hidden): what h2 printed must
reach nobody.
"""

import pytest
from django.test import Client

from assay.storer.courses.models import Assignment
from assay.storer.evaluation import services
from tests.conftest import EXAMPLES

from .conftest import Api, package_zip
from .test_api_tester import claim, evaluate, fetch, upload

CRASHY = b"""import sys
data = sys.stdin.read().split()
q = int(data[0])
if q in (3, 202):  # tests e1 and h2
    sys.stderr.write("SECRET-" + "FROM-H2\\n" if q == 202 else "my program gave up on e1\\n")
    raise RuntimeError("crashed on purpose")
for n in map(int, data[1 : q + 1]):
    print(n * (n + 1) // 2)
"""
PAIRS_PARTLY = (
    EXAMPLES / "checker-cpp" / "solutions" / "wrong_answer" / "same-position.cpp"
).read_bytes()


def assignment(cast, slug, example, points=None):
    a = Assignment.objects.create(course=cast.prog1, slug=slug, title=slug)
    services.add_version(a, package_zip(example), cast.users["teacher"], trusted=True)
    a.refresh_from_db()
    if points is not None:
        a.points = points
        a.save()
    return a


def evaluated(cast, tmp_path, a, files, edit=None):
    s = services.create_submission(a, cast.users["alice"], cast.users["alice"], files)
    job = s.jobs.get()
    claim(cast, job)
    seen = {}

    def keep(doc):
        seen.update(doc)
        if edit:
            edit(doc)

    r = upload(cast, job, evaluate(fetch(cast, job).content, tmp_path, edit=keep))
    assert r.status_code == 200, r.content
    return s, seen


def page(cast, who, s) -> str:
    c = Client()
    c.force_login(cast.users[who])
    return c.get(f"/submissions/{s.id}/").content.decode()


@pytest.fixture
def crashed(cast, tmp_path):
    a = assignment(cast, "groups", "groups-python", points=20)  # twice the package's 10
    return evaluated(cast, tmp_path, a, {"triangular.py": CRASHY})


def test_groups_have_subtotals_in_the_assignments_points(cast, crashed):
    s, _ = crashed
    doc = cast.api("alice").get(f"/submissions/{s.id}").json()
    assert doc["max_points"] == 20  # 2 of the 3 easy tests: 2/3 of 4 points, twice
    assert doc["groups"] == [
        {"name": "easy", "scoring": "proportional", "points": 5.3333, "max_points": 8.0},
        {"name": "hard", "scoring": "all", "points": 0.0, "max_points": 12.0},
    ]
    text = page(cast, "alice", s)
    assert "Points by group" in text and "each test counts" in text
    assert "5.3333 / 8" in text and "0 / 12" in text and "all tests must pass" in text


def test_each_test_shows_its_points_not_a_fraction(cast, crashed):
    s, _ = crashed
    Assignment.objects.filter(slug="groups").update(test_details=Assignment.DETAILS_ALL)
    tests = {t["name"]: t for t in cast.api("alice").get(f"/submissions/{s.id}").json()["tests"]}
    assert (tests["e2"]["points"], tests["e2"]["max_points"]) == (2.6667, 2.6667)
    assert tests["e2"]["score"] == 1.0  # the fraction stays in the document, for clients
    assert (tests["e1"]["points"], tests["e1"]["max_points"]) == (0.0, 2.6667)
    assert tests["h1"]["points"] is None  # all or nothing: the group's points, not the test's
    text = page(cast, "alice", s)
    assert "2.6667 / 2.6667" in text and "all-or-nothing group" in text


def test_a_crash_shows_its_stderr_and_no_difference(cast, crashed):
    s, _ = crashed
    text = page(cast, "alice", s)
    assert "my program gave up on e1" in text and "RuntimeError: crashed on purpose" in text
    assert "Error output" in text and "Difference" not in text
    assert "Your output" not in text.split('id="test-1"')[1]  # it printed nothing
    e1 = cast.api("alice").get(f"/submissions/{s.id}").json()["tests"][0]
    assert e1["name"] == "e1" and "my program gave up on e1" in e1["stderr_head"]


def test_a_hidden_tests_stderr_never_leaves_the_tester(cast, crashed):
    s, result = crashed
    by_name = {t["name"]: t for t in result["tests"]}
    assert "stderr_head" in by_name["e1"] and "stderr_head" not in by_name["h2"]
    for who in ("alice", "teacher"):
        assert "SECRET-FROM-H2" not in page(cast, who, s)
        assert "SECRET-FROM-H2" not in cast.api(who).get(f"/submissions/{s.id}").content.decode()


def test_the_storer_drops_a_hidden_tests_stderr_a_tester_sent(cast, tmp_path):
    a = assignment(cast, "groups", "groups-python")

    def leak(doc):
        for t in doc["tests"]:
            t["stderr_head"] = "SECRET-FROM-A-BAD-TESTER"

    s, _ = evaluated(cast, tmp_path, a, {"triangular.py": CRASHY}, edit=leak)
    tests = cast.api("teacher").get(f"/submissions/{s.id}").json()["tests"]
    assert [t["name"] for t in tests if t["stderr_head"]] == ["e1"]


def test_the_stderr_is_cut_to_a_kib_and_hidden_with_verdicts_only(cast, tmp_path):
    a = assignment(cast, "groups", "groups-python")
    loud = CRASHY.replace(b'"my program gave up on e1\\n"', b'"x" * 5000')
    s, result = evaluated(cast, tmp_path, a, {"triangular.py": loud})
    assert len(result["tests"][0]["stderr_head"]) == 1024
    Assignment.objects.filter(pk=a.pk).update(test_details=Assignment.DETAILS_VERDICTS)
    doc = cast.api("alice").get(f"/submissions/{s.id}").json()
    assert "stderr_head" not in doc["tests"][0] and "x" * 100 not in page(cast, "alice", s)


def test_a_checkers_message_replaces_the_difference(cast, tmp_path):
    a = assignment(cast, "pairs", "checker-cpp")
    s, _ = evaluated(cast, tmp_path, a, {"pairs.cpp": PAIRS_PARTLY})
    text = page(cast, "alice", s)
    assert "The checker's message" in text and "0 of 2 targets answered correctly" in text
    assert "Difference" not in text  # another valid pair is no difference at all
    assert "An accepted output (the checker accepts others)" in text


def test_a_partial_score_shows_as_a_percentage_and_points(cast, tmp_path):
    a = assignment(cast, "pairs", "checker-cpp")
    s, _ = evaluated(cast, tmp_path, a, {"pairs.cpp": PAIRS_PARTLY})
    tests = {t["name"]: t for t in cast.api("teacher").get(f"/submissions/{s.id}").json()["tests"]}
    assert tests["2"]["verdict"] == "PA" and tests["2"]["score"] == 0.8333
    assert (tests["2"]["points"], tests["2"]["max_points"]) == (2.0833, 2.5)
    text = page(cast, "teacher", s)
    assert "83.3 %" in text and "2.0833 / 2.5" in text


def test_a_wrong_answer_of_the_built_in_judge_keeps_its_difference(cast, tmp_path):
    wrong = b'#include <stdio.h>\nint main(void){puts("7");return 0;}\n'
    s, _ = evaluated(cast, tmp_path, cast.sum, {"sum.c": wrong})
    text = page(cast, "alice", s)
    assert "Difference" in text and "not compared" not in text and "Error output" not in text


# -- progress while running -------------------------------------------------------------------


def heartbeat(cast, job, done, total=4, attempt=1, other_tester=False):
    progress = [{"job": job.id, "attempt": attempt, "tests_done": done, "tests_total": total}]
    api = Api(cast.other_tester_token) if other_tester else cast.api("tester")
    return api.post("/tester/heartbeat", json={"jobs": [job.id], "progress": progress})


@pytest.fixture
def running(cast):
    s = services.create_submission(
        cast.sum, cast.users["alice"], cast.users["alice"], {"sum.c": b"x"}
    )
    job = s.jobs.get()
    claim(cast, job)
    return s, job


def test_a_running_submission_says_which_test_runs(cast, running):
    s, job = running
    assert cast.api("alice").get(f"/submissions/{s.id}").json()["progress"] is None
    assert heartbeat(cast, job, 2).status_code == 200
    doc = cast.api("alice").get(f"/submissions/{s.id}").json()
    assert doc["status"] == "running" and doc["progress"] == {"tests_done": 2, "tests_total": 4}
    assert "running, test 3 of 4" in page(cast, "alice", s)
    heartbeat(cast, job, 4)
    assert "running, 4 of 4 tests run" in page(cast, "alice", s)


def test_progress_of_an_old_attempt_or_another_tester_is_ignored(cast, running):
    s, job = running
    heartbeat(cast, job, 1)
    assert heartbeat(cast, job, 3, attempt=0).status_code == 200  # a stale attempt
    assert heartbeat(cast, job, 3, other_tester=True).status_code == 200
    assert cast.api("alice").get(f"/submissions/{s.id}").json()["progress"]["tests_done"] == 1


def test_a_new_attempt_starts_without_the_old_ones_progress(cast, running):
    s, job = running
    heartbeat(cast, job, 3)
    job.refresh_from_db()
    services.requeue(job, "tester lost")
    job.refresh_from_db()
    claim(cast, job, attempt=2)
    assert cast.api("alice").get(f"/submissions/{s.id}").json()["progress"] is None


def test_bad_progress_is_refused(cast, running):
    _, job = running
    r = cast.api("tester").post(
        "/tester/heartbeat",
        json={"progress": [{"job": job.id, "attempt": 1, "tests_done": -1, "tests_total": 4}]},
    )
    assert r.status_code == 400


def test_what_a_crashed_run_printed_is_shown_but_not_compared(cast, tmp_path):
    a = assignment(cast, "groups", "groups-python")
    chatty = CRASHY.replace(b"if q in (3, 202):", b"print(1)\nif q in (3, 202):")
    s, _ = evaluated(cast, tmp_path, a, {"triangular.py": chatty})
    card = page(cast, "alice", s).split('id="test-1"')[1]
    assert "Your output (before the run was stopped: not compared)" in card
    assert "Difference" not in card


# a wrong first line on every test, then e1 runs out of time and e2 out of memory: were their
# outputs compared, the page would show a difference
STOPPED = b"""import sys
data = sys.stdin.read().split()
q = int(data[0])
print(0, flush=True)
if q == 3:  # e1
    while True:
        pass
if q == 7:  # e2
    hog = b"x" * (256 << 20)
"""


def test_a_run_out_of_time_or_memory_shows_no_difference(cast, tmp_path):
    a = assignment(cast, "groups", "groups-python")
    Assignment.objects.filter(pk=a.pk).update(test_details=Assignment.DETAILS_ALL)
    s, _ = evaluated(cast, tmp_path, a, {"triangular.py": STOPPED})
    verdicts = [t["verdict"] for t in cast.api("alice").get(f"/submissions/{s.id}").json()["tests"]]
    assert verdicts == ["TLE", "MLE", "WA", "WA", "WA"]
    cards = page(cast, "alice", s).split('<section class="card" id="test-')[1:]
    for stopped in cards[:2]:
        assert "Your output (before the run was stopped: not compared)" in stopped
        assert "Difference" not in stopped
    assert all("Difference" in wrong for wrong in cards[2:])  # the same line, compared


def test_a_test_not_run_shows_no_output_and_no_difference(cast, tmp_path):
    s, _ = evaluated(cast, tmp_path, cast.sum, {"sum.c": b"int main(void) { return x; }\n"})
    doc = cast.api("alice").get(f"/submissions/{s.id}").json()
    assert doc["verdict"] == "CE" and {t["verdict"] for t in doc["tests"]} == {"SKIP"}
    text = page(cast, "alice", s)
    assert "not run" in text
    assert "Your output" not in text and "Difference" not in text
