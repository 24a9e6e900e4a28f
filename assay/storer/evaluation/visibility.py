"""What a student may see of a test, and what only the staff see: the one rule the API and the
pages both apply (docs/security.md, "What a student sees of a test").

* Always: the test's name, group, verdict, and whether it is visible.
* With the assignment's ``test_details`` (``visible``: for visible tests; ``all``: for every
  test): the sandbox's status, exit code, signal, cpu and wall time, peak memory, score, the
  sandbox's message ("cpu time limit exceeded"), the test's points (its share of the
  assignment's points; none in an all-or-nothing group) and the student message — a checker's
  ``teammessage.txt``, or where the built-in judge found the output wrong, never quoting the
  expected output.
* For visible tests (unless ``test_details`` is ``verdicts``): the input, the expected output
  and the program's own output, and the first KiB of what a crashed run wrote to stderr (the
  tester sends it for visible tests only; the storer keeps none of a hidden test's).
* Only the staff (the course's supervisors and administrators): the judge message (the built-in
  judge's message quotes the expected token; a checker's ``judgemessage.txt`` is written for the
  teacher), and everything of hidden tests.
"""

from __future__ import annotations

from typing import Any

from assay.storer.courses.models import Assignment

ALWAYS = ("name", "group", "verdict", "visible")
DETAILS = (
    "status", "exit_code", "signal", "cpu_time_s", "wall_time_s", "memory_kib", "score",
    "message", "student_message", "points", "max_points",
)  # fmt: skip
FILES = ("stderr_head",)
STAFF_ONLY = ("judge_message",)


def shows_details(assignment: Assignment, visible: bool, staff: bool) -> bool:
    """Time, memory, status and the student message of a test."""
    details = assignment.test_details
    return (
        staff
        or details == Assignment.DETAILS_ALL
        or (details == Assignment.DETAILS_VISIBLE and visible)
    )


def shows_files(assignment: Assignment, visible: bool, staff: bool) -> bool:
    """The input, the expected output and the program's output of a test."""
    return staff or (visible and assignment.test_details != Assignment.DETAILS_VERDICTS)


def test_view(test: Any, assignment: Assignment, staff: bool) -> dict[str, Any]:
    """A test result (a TestResult row) as the viewer may see it."""
    entry = {k: getattr(test, k) for k in ALWAYS}
    if shows_details(assignment, test.visible, staff):
        entry.update({k: getattr(test, k) for k in DETAILS})
    if shows_files(assignment, test.visible, staff):
        entry.update({k: getattr(test, k) for k in FILES})
    if staff:
        entry.update({k: getattr(test, k) for k in STAFF_ONLY})
    return entry
