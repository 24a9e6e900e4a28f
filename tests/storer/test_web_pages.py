"""The web interface's pages: rendering, permissions (the API's matrix extended to every page),
form errors and CSRF."""

import csv
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from assay.storer.courses.models import Membership
from assay.storer.evaluation import services
from assay.storer.evaluation.models import Job

from .conftest import SUM_OK, package_zip
from .test_api_tester import claim, evaluate, fetch, upload


def login(cast, who, csrf=False):
    c = Client(enforce_csrf_checks=csrf)
    if who:
        c.force_login(cast.users[who])
    return c


PAGES = [
    # path, expected for: anonymous, alice, carol, teacher, tina, admin
    ("/", [302, 200, 200, 200, 200, 200]),
    ("/courses/prog1/", [302, 200, 404, 200, 404, 200]),
    ("/courses/prog1/assignments/sum/", [302, 200, 404, 200, 404, 200]),
    ("/courses/prog1/assignments/sum/submissions/", [302, 200, 404, 200, 404, 200]),
    ("/submissions/{s}/", [302, 200, 404, 200, 404, 200]),
    ("/submissions/{s}/body/", [302, 200, 404, 200, 404, 200]),
    ("/courses/prog1/new-assignment/", [302, 403, 404, 200, 404, 200]),
    ("/courses/prog1/submissions/", [302, 403, 404, 200, 404, 200]),
    ("/courses/prog1/grades/", [302, 403, 404, 200, 404, 200]),
    ("/courses/prog1/grades.csv", [302, 403, 404, 200, 404, 200]),
    ("/courses/prog1/members/", [302, 403, 404, 200, 404, 200]),
    ("/courses/prog1/assignments/sum/manage/", [302, 403, 404, 200, 404, 200]),
    ("/courses/prog1/assignments/sum/manage/versions/", [302, 403, 404, 200, 404, 200]),
    ("/courses/prog1/assignments/sum/stats/", [302, 403, 404, 200, 404, 200]),
    ("/courses/prog1/assignments/sum/stats/failed-tests.csv", [302, 403, 404, 200, 404, 200]),
    ("/courses/prog1/progress/", [302, 403, 404, 200, 404, 200]),
    ("/manage/queue/", [302, 403, 403, 403, 403, 200]),
]
WHO = [None, "alice", "carol", "teacher", "tina", "admin"]
CASES = [(p, who, codes[i]) for p, codes in PAGES for i, who in enumerate(WHO)]


@pytest.mark.parametrize(
    ("path", "who", "expected"), CASES, ids=[f"{p} as {w}" for p, w, _ in CASES]
)
def test_every_page_for_every_kind_of_user(cast, done, path, who, expected):
    r = login(cast, who).get(path.format(s=done.id))
    assert r.status_code == expected
    if expected == 302:
        assert r["Location"].startswith("/login/")


def test_the_submission_page_shows_visible_details_and_hides_hidden_tests(cast, done):
    html = login(cast, "alice").get(f"/submissions/{done.id}/").content.decode()
    assert 'Points: <strong id="points">10 / 10</strong>' in html
    assert "Expected output" in html and "1 2" in html  # test 1 is visible: its input
    assert "2000000000000" not in html  # test 3 is hidden: neither input nor expected output
    assert "(hidden)" in html


def test_a_wrong_answer_shows_the_difference_on_a_visible_test(cast, tmp_path):
    s = services.create_submission(
        cast.sum,
        cast.users["alice"],
        cast.users["alice"],
        {"sum.c": b'int main(){return puts("4")<0;}\n'},
    )
    job = s.jobs.get()
    claim(cast, job)
    upload(cast, job, evaluate(fetch(cast, job).content, tmp_path))
    html = login(cast, "alice").get(f"/submissions/{s.id}/").content.decode()
    assert (
        "Difference" in html
        and '<span class="del">-3</span>' in html
        and '<span class="add">+4</span>' in html
    )


def test_a_student_submits_files_through_the_form(cast):
    c = login(cast, "alice")
    r = c.post("/courses/prog1/assignments/sum/", {"files": [SimpleUploadedFile("sum.c", SUM_OK)]})
    assert r.status_code == 302
    assert Job.objects.get().submission.author.username == "alice"
    page = c.get("/courses/prog1/assignments/sum/").content.decode()
    assert "queued" in page and 'hx-trigger="every 1s"' in page  # live until final


def test_refused_uploads_show_clear_form_errors(cast, settings):
    c = login(cast, "alice")
    r = c.post("/courses/prog1/assignments/sum/", {})
    assert r.status_code == 400 and "Choose at least one file" in r.content.decode()
    r = c.post(
        "/courses/prog1/assignments/sum/", {"files": [SimpleUploadedFile("x.py", b"print(1)")]}
    )
    assert r.status_code == 400 and "no C (gcc, C17) source" in r.content.decode()
    settings.MAX_UPLOAD_FILE_BYTES = 10
    r = c.post("/courses/prog1/assignments/sum/", {"files": [SimpleUploadedFile("sum.c", SUM_OK)]})
    assert r.status_code == 400 and "at most 10 per file" in r.content.decode()
    r = c.post(
        "/courses/prog1/assignments/sum/", {"files": [SimpleUploadedFile("s.zip", b"PK garbage")]}
    )
    assert r.status_code == 400 and "not a valid zip" in r.content.decode()
    assert not Job.objects.exists()


def test_after_the_deadline_the_form_is_closed(cast):
    from django.utils import timezone

    cast.sum.deadline = timezone.now() - timezone.timedelta(days=1)
    cast.sum.save()
    c = login(cast, "alice")
    assert "submissions are closed" in c.get("/courses/prog1/assignments/sum/").content.decode()
    r = c.post("/courses/prog1/assignments/sum/", {"files": [SimpleUploadedFile("sum.c", SUM_OK)]})
    assert r.status_code == 400 and "deadline" in r.content.decode()


def test_a_supervisor_cross_submits_in_the_form(cast):
    r = login(cast, "teacher").post(
        "/courses/prog1/assignments/sum/",
        {"files": [SimpleUploadedFile("sum.c", SUM_OK)], "for_user": "bob"},
    )
    assert r.status_code == 302
    s = Job.objects.get().submission
    assert (s.author.username, s.submitted_by.username) == ("bob", "teacher")


def test_students_get_no_cross_submit_field(cast):
    html = login(cast, "alice").get("/courses/prog1/assignments/sum/").content.decode()
    assert "Submit for student" not in html
    assert (
        "Submit for student"
        in login(cast, "teacher").get("/courses/prog1/assignments/sum/").content.decode()
    )


@pytest.mark.parametrize(
    "path",
    [
        "/courses/prog1/assignments/sum/",
        "/courses/prog1/new-assignment/",
        "/courses/prog1/members/",
        "/courses/prog1/assignments/sum/manage/",
        "/courses/prog1/assignments/sum/manage/reevaluate-all/",
        "/submissions/{s}/evaluate/",
        "/submissions/{s}/reevaluate/",
        "/manage/jobs/1/retry/",
        "/logout/",
    ],
)
def test_every_form_needs_its_csrf_token(cast, done, path):
    r = login(cast, "admin", csrf=True).post(path.format(s=done.id), {})
    assert r.status_code == 403
    assert b"CSRF" in r.content


def test_the_supervisor_uploads_a_package_and_sees_it_validating(cast):
    c = login(cast, "teacher")
    r = c.post(
        "/courses/prog1/new-assignment/",
        {"slug": "sum2", "package": SimpleUploadedFile("p.zip", package_zip("sum-c"))},
    )
    assert r.status_code == 302
    page = c.get(r["Location"]).content.decode()
    assert 'data-version-state="validating"' in page and 'hx-trigger="every 1s"' in page


def test_a_bad_package_is_refused_in_the_form(cast):
    r = login(cast, "teacher").post(
        "/courses/prog1/new-assignment/",
        {"slug": "bad", "package": SimpleUploadedFile("p.zip", b"nope")},
    )
    assert r.status_code == 400 and "must be a zip" in r.content.decode()


def test_settings_are_saved_and_bad_values_refused(cast):
    c = login(cast, "teacher")
    data = {
        "settings-title": "Sum",
        "settings-points": "20",
        "settings-evaluation": "on_demand",
        "settings-test_details": "all",
        "settings-deadline": "2030-01-02T03:04",
    }
    assert c.post("/courses/prog1/assignments/sum/manage/", data).status_code == 302
    cast.sum.refresh_from_db()
    assert (cast.sum.points, cast.sum.evaluation, cast.sum.deadline.year) == (20, "on_demand", 2030)
    r = c.post("/courses/prog1/assignments/sum/manage/", {**data, "settings-points": "-3"})
    assert r.status_code == 400 and "Points cannot be negative" in r.content.decode()


def test_re_evaluate_all_asks_first_and_queues_nothing_until_confirmed(cast, done):
    c = login(cast, "teacher")
    jobs = Job.objects.count()
    r = c.post("/courses/prog1/assignments/sum/manage/reevaluate-all/")
    page = r.content.decode()
    assert r.status_code == 200 and "Yes, re-evaluate 1 submission" in page
    assert 'name="confirm" value="yes"' in page and "Cancel" in page
    assert Job.objects.count() == jobs


def test_re_evaluate_all_shows_a_progress_bar(cast, done):
    c = login(cast, "teacher")
    r = c.post("/courses/prog1/assignments/sum/manage/reevaluate-all/", {"confirm": "yes"})
    assert r.status_code == 302 and "batch=" in r["Location"]
    batch = r["Location"].split("batch=")[1].split("#")[0]
    progress = c.get(f"/courses/prog1/assignments/sum/manage/progress/{batch}/").content.decode()
    assert 'data-finished="0" data-total="1"' in progress and "every 1s" in progress


def test_the_grades_csv_holds_the_best_points(cast, done):
    r = login(cast, "teacher").get("/courses/prog1/grades.csv")
    rows = list(csv.reader(io.StringIO(r.content.decode())))
    assert rows[0] == ["student", "sum", "sum late", "total"]
    assert ["alice", "10", "", "10"] in rows and ["bob", "", "", "0"] in rows


def test_statistics_show_the_distribution_and_pass_rates(cast, done):
    html = login(cast, "teacher").get("/courses/prog1/assignments/sum/stats/").content.decode()
    assert "<svg" in html and "Score distribution of 1 student" in html
    assert "1 / 1" in html  # each test passed once out of once


def test_members_are_added_by_username_and_by_a_roster_csv(cast):
    from django.contrib.auth import get_user_model

    for name in ("dave", "erin"):
        get_user_model().objects.create_user(name, f"{name}@example.org")
    c = login(cast, "teacher")
    c.post("/courses/prog1/members/", {"add-username": "dave", "add-role": "student"})
    preview = c.post(
        "/courses/prog1/members/import/",
        {
            "roster": SimpleUploadedFile(
                "m.csv", b"username,email,role\nerin,erin@ex.org,supervisor\n"
            )
        },
    ).content.decode()
    data = re.search(r'name="data" value="([^"]+)"', preview)
    assert data is not None, preview
    c.post("/courses/prog1/members/import/", {"confirm": "yes", "data": data.group(1)})
    assert Membership.objects.get(user__username="dave").role == "student"
    assert Membership.objects.get(user__username="erin").role == "supervisor"
    r = c.post("/courses/prog1/members/", {"add-username": "nobody", "add-role": "student"})
    assert "No account is named &#x27;nobody&#x27;" in r.content.decode()


def test_the_administrator_sees_the_queue_and_retries_a_failed_job(cast, done):
    job = services.start_evaluation(done, cast.users["admin"])
    claim(cast, job)
    cast.api("tester").post(
        f"/tester/jobs/{job.id}/fail", json={"attempt": 1, "error": "broken bundle"}
    )
    c = login(cast, "admin")
    html = c.get("/manage/queue/").content.decode()
    assert "broken bundle" in html and "t1" in html
    assert c.post(f"/manage/jobs/{job.id}/retry/").status_code == 302
    job.refresh_from_db()
    assert job.state == "queued"


def test_pages_have_a_skip_link_headings_and_labels(cast, done):
    html = login(cast, "alice").get("/courses/prog1/assignments/sum/").content.decode()
    assert 'class="skip" href="#content"' in html and "<h1>" in html
    assert '<label for="id_files">' in html
    assert 'name="viewport"' in html


def test_a_fields_help_text_is_what_its_aria_describedby_names(cast):
    """Django's widgets name their help as "<id>_helptext"; the form's template must use it."""
    teacher = Client()
    teacher.force_login(cast.users["teacher"])
    page = teacher.get("/courses/prog1/new-assignment/").content.decode()
    described = re.findall(r'aria-describedby="([^"]+)"', page)
    assert described, "no field with a help text on the page"
    for ids in described:
        for one in ids.split():
            assert f'id="{one}"' in page, f"aria-describedby names {one}, which is not on the page"
