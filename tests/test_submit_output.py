"""What `assay submit --wait` says while it waits and when the result is in."""

from assay import cli


def test_the_wait_names_the_queue_position_or_the_test_that_runs():
    assert cli._where({"queue_position": 3}) == ", position 3 in the queue"
    running = {"progress": {"tests_done": 6, "tests_total": 20}}
    assert cli._where(running) == ", test 7 of 20"
    assert cli._where({"progress": {"tests_done": 20, "tests_total": 20}}) == ""
    assert cli._where({"progress": None}) == ""


def test_the_result_has_a_line_per_group():
    doc = {
        "id": 5, "status": "done", "verdict": "WA", "points": 2.6667, "max_points": 10,
        "groups": [
            {"name": "easy", "scoring": "proportional", "points": 2.6667, "max_points": 4},
            {"name": "hard", "scoring": "all", "points": 0, "max_points": 6},
        ],
    }  # fmt: skip
    with cli.out.capture() as captured:
        cli._print_submission(doc)
    text = captured.get()
    assert "group easy: 2.6667/4 points" in text and "group hard: 0/6 points" in text
    assert "verdict WA, 2.6667/10 points" in text
