"""What a student sees of a test, field by field (assay/storer/evaluation/visibility.py and
docs/security.md): the same rule in the API and on the pages.

Alice's submission of the sum assignment is wrong on every test; test 1 is visible, the others
hidden. The judge's message for the staff quotes the expected answer; the student message does
not."""

import pytest
from django.test import Client

from assay.judges import judge_tokens
from assay.storer.courses.models import Assignment
from assay.storer.evaluation import services

from .test_api_tester import claim, evaluate, fetch, upload

WRONG_SUM = b'#include <stdio.h>\nint main(void){puts("x");return 0;}\n'
SECRET = "500000000500000000"


@pytest.fixture
def wrong(cast, tmp_path):
    s = services.create_submission(
        cast.sum, cast.users["alice"], cast.users["alice"], {"sum.c": WRONG_SUM}
    )
    job = s.jobs.get()
    claim(cast, job)

    def mark(doc):  # the messages as a judge would write them, with a recognisable answer
        for t in doc["tests"]:
            t["judge_message"] = f"line 1: expected '{SECRET}', got 'x'"
            t["student_message"] = "line 1: 'x' is wrong"

    upload(cast, job, evaluate(fetch(cast, job).content, tmp_path, edit=mark))
    return s


def api_tests(cast, who, s):
    return {t["name"]: t for t in cast.api(who).get(f"/submissions/{s.id}").json()["tests"]}


def page(cast, who, s) -> str:
    c = Client()
    c.force_login(cast.users[who])
    return c.get(f"/submissions/{s.id}/").content.decode()


def set_details(cast, value):
    Assignment.objects.filter(pk=cast.sum.pk).update(test_details=value)


ALWAYS = {"name", "group", "verdict", "visible"}
DETAILS = {"status", "exit_code", "signal", "cpu_time_s", "wall_time_s", "memory_kib", "score"}
DETAILS |= {"message", "student_message", "points", "max_points"}
FILES = {"stderr_head"}  # with the input and the outputs: a visible test's


@pytest.mark.parametrize(
    "details, visible_has, hidden_has",
    [
        ("verdicts", ALWAYS, ALWAYS),
        ("visible", ALWAYS | DETAILS | FILES, ALWAYS),
        ("all", ALWAYS | DETAILS | FILES, ALWAYS | DETAILS),
    ],
)
def test_a_student_sees_exactly_the_fields_the_rule_allows(
    cast, wrong, details, visible_has, hidden_has
):
    set_details(cast, details)
    tests = api_tests(cast, "alice", wrong)
    assert set(tests["1"]) == visible_has
    assert set(tests["2"]) == hidden_has


@pytest.mark.parametrize("details", ["verdicts", "visible", "all"])
def test_the_judge_message_never_reaches_a_student(cast, wrong, details):
    set_details(cast, details)
    assert all("judge_message" not in t for t in api_tests(cast, "alice", wrong).values())
    assert SECRET not in page(cast, "alice", wrong)


def test_the_staff_see_every_field_of_every_test(cast, wrong):
    set_details(cast, "verdicts")
    for t in api_tests(cast, "teacher", wrong).values():
        assert set(t) == ALWAYS | DETAILS | FILES | {"judge_message"}
    assert SECRET in page(cast, "teacher", wrong)


def test_files_of_a_visible_test_only_and_not_with_verdicts_only(cast, wrong):
    from assay.package import open_package
    from tests.conftest import EXAMPLES

    with open_package(EXAMPLES / "sum-c") as a:
        visible_input = a.test("1").input.read_text().strip()
        hidden_input = a.test("2").input.read_text().strip()
    set_details(cast, "all")
    text = page(cast, "alice", wrong)
    assert "Test 1" in text and visible_input in text
    assert "Test 2 " not in text and hidden_input not in text
    set_details(cast, "verdicts")
    assert "Expected output" not in page(cast, "alice", wrong)


def test_the_built_in_judge_tells_the_student_where_not_what():
    r = judge_tokens(f"{SECRET}\n".encode(), b"x\n")
    assert SECRET in r.message and SECRET not in r.student_message
    assert "line 1" in r.student_message
    r = judge_tokens(f"1 {SECRET}\n".encode(), b"1\n")
    assert SECRET in r.message and SECRET not in r.student_message
