"""What to submit (issue 11, part 6): the assignment page and the API's assignment document state
the language(s) with their compiler and build command, the files expected, the upload limits
and the limits per test; where the package leaves the language open (a Kattis package), the
submit form offers the languages the testers run, and the server guesses from the extensions
when the student names none."""

from __future__ import annotations

import json

import pytest

from assay.storer.courses.models import Assignment
from assay.storer.evaluation import models as evaluation_models
from assay.storer.evaluation import services
from assay.storer.evaluation.models import Submission
from tests.conftest import EXAMPLES

from .conftest import package_zip
from .test_code_view import login

DISTANCE_PY = (
    EXAMPLES / "kattis-distance" / "submissions" / "accepted" / "distance.py"
).read_bytes()
PAGE = "/courses/prog1/assignments/distance/"


@pytest.fixture
def distance(cast) -> Assignment:
    """A Kattis package: any language the testers run (t1 runs C and Python, t2 C++)."""
    a = Assignment.objects.create(course=cast.prog1, slug="distance", title="distance")
    services.add_version(a, package_zip("kattis-distance"), cast.users["teacher"], trusted=True)
    evaluation_models.Tester.objects.filter(name="t1").update(runtimes=["c", "python3"])
    evaluation_models.Tester.objects.filter(name="t2").update(runtimes=["cpp"])
    a.refresh_from_db()
    return a


def test_the_api_states_the_one_language_of_a_package_that_names_it(cast):
    doc = cast.api("alice").get(f"/assignments/{cast.sum.id}").json()
    assert [lang["name"] for lang in doc["languages"]] == ["c"]
    c = doc["languages"][0]
    assert c["title"] == "C (gcc, C17)" and c["build"].startswith("gcc -std=gnu17")
    assert c["debian"] == ["gcc", "libc6-dev"] and c["extensions"] == [".c"]
    assert doc["choose_language"] is False
    assert doc["upload"] == {"files": 50, "file_kib": 1024, "total_kib": 4096}
    assert doc["limits"]["cpu_time_s"] > 0


def test_an_open_package_offers_what_the_testers_run(cast, distance):
    doc = cast.api("alice").get(f"/assignments/{distance.id}").json()
    assert doc["choose_language"] is True
    assert sorted(lang["name"] for lang in doc["languages"]) == ["c", "cpp", "python3"]
    evaluation_models.Tester.objects.filter(name="t2").update(
        runtimes=[]
    )  # a tester that names none runs all
    doc = cast.api("alice").get(f"/assignments/{distance.id}").json()
    assert len(doc["languages"]) > 10
    evaluation_models.Tester.objects.update(
        revoked=True
    )  # no tester: every runtime (nothing to go by)
    assert len(cast.api("alice").get(f"/assignments/{distance.id}").json()["languages"]) > 10


def test_the_assignment_page_says_what_to_submit(cast):
    html = login(cast, "alice").get("/courses/prog1/assignments/sum/").content.decode()
    assert "What to submit" in html
    assert "C (gcc, C17)" in html and "built with <code>gcc -std=gnu17" in html
    assert "1.0 s cpu time, 3 s real time; 64.0 MiB memory" in html
    assert "At most 50 files" in html
    assert 'id="id_language"' not in html  # one language: nothing to choose


def test_a_multi_language_page_offers_a_choice_with_the_extensions_guesses(cast, distance):
    html = login(cast, "alice").get(PAGE).content.decode()
    assert "choose one when you submit, or your files" in html
    assert '<select name="language"' in html
    for title in ("C (gcc, C17)", "Python 3"):
        assert title in html
    guess_attr = html.split('data-guess="', 1)[1].split('"', 1)[0].replace("&quot;", '"')
    guesses = json.loads(guess_attr)
    assert (guesses[".py"], guesses[".c"], guesses[".cpp"]) == ("python3", "c", "cpp")
    assert ".rb" not in guesses  # no tester runs Ruby
    assert 'src="/static/web/language.js"' in html


def test_the_language_chosen_is_the_submissions_and_without_one_the_server_guesses(cast, distance):
    from django.core.files.uploadedfile import SimpleUploadedFile

    web = login(cast, "alice")
    r = web.post(
        PAGE, {"language": "python3", "files": [SimpleUploadedFile("solve.py", DISTANCE_PY)]}
    )
    assert r.status_code == 302, r.content.decode()[:3000]
    assert Submission.objects.get(assignment=distance).runtime == "python3"
    r = web.post(PAGE, {"files": [SimpleUploadedFile("solve.py", DISTANCE_PY)]})
    assert r.status_code == 302
    assert list(
        Submission.objects.filter(assignment=distance).values_list("runtime", flat=True)
    ) == [
        "python3",
        "python3",
    ]


def test_a_language_the_testers_do_not_run_or_that_does_not_fit_the_files_is_refused(
    cast, distance
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    web = login(cast, "alice")
    r = web.post(PAGE, {"language": "ruby", "files": [SimpleUploadedFile("solve.py", DISTANCE_PY)]})
    assert r.status_code == 400 and "Select a valid choice" in r.content.decode()
    r = web.post(PAGE, {"language": "c", "files": [SimpleUploadedFile("solve.py", DISTANCE_PY)]})
    assert r.status_code == 400 and "no C (gcc, C17) source among solve.py" in r.content.decode()
    assert not Submission.objects.filter(assignment=distance).exists()


def test_the_forms_guesses_are_the_servers_choices():
    from assay.runtimes import get_runtime
    from assay.storer.languages import guesses

    runtimes = [get_runtime(n) for n in ("c", "cpp", "python3", "pypy3", "perl", "prolog")]
    found = guesses(runtimes)
    assert found[".py"] == "python3"  # shared with pypy3: the core one, as detect_runtime
    assert found[".pl"] == "prolog"  # Perl leaves .pl undetected
    assert (found[".c"], found[".cpp"], found[".C"]) == ("c", "cpp", "cpp")


def test_the_versions_the_testers_report_are_shown(cast, distance):
    tester = cast.api("tester")
    gcc = "gcc (Debian 12.2.0-14+deb12u1) 12.2.0"
    r = tester.post(
        "/tester/heartbeat", json={"jobs": [], "versions": {"c": gcc, "python3": "Python 3.11.2"}}
    )
    assert r.status_code == 200, r.content
    other = cast.api("tester")
    other.headers = {"HTTP_AUTHORIZATION": f"Bearer {cast.other_tester_token}"}
    other.post(
        "/tester/heartbeat", json={"jobs": [], "versions": {"c": "gcc (Debian 14.2.0-19) 14.2.0"}}
    )
    doc = cast.api("alice").get(f"/assignments/{cast.sum.id}").json()
    assert doc["languages"][0]["versions"] == [gcc, "gcc (Debian 14.2.0-19) 14.2.0"]
    html = login(cast, "alice").get("/courses/prog1/assignments/sum/").content.decode()
    assert f'on the testers: <code class="version">{gcc}</code>' in html
    table = login(cast, "alice").get(PAGE).content.decode()  # several languages: a table
    assert "<code>Python 3.11.2</code>" in table and "not reported yet" in table  # cpp: no version
    # a revoked tester's toolchain is no longer what students get
    evaluation_models.Tester.objects.filter(name="t2").update(revoked=True)
    assert cast.api("alice").get(f"/assignments/{cast.sum.id}").json()["languages"][0][
        "versions"
    ] == [gcc]


def test_a_heartbeat_refuses_versions_that_are_not_text(cast):
    r = cast.api("tester").post("/tester/heartbeat", json={"jobs": [], "versions": {"c": 12}})
    assert r.status_code == 400
    r = cast.api("tester").post(
        "/tester/heartbeat", json={"jobs": [], "versions": {"c": "x" * 201}}
    )
    assert r.status_code == 400
