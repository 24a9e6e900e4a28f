"""The administrators' queue page (issue 11, part 10): besides the queues, the testers and the
failed jobs, it shows what is queued, what runs (tester, since when, "test 3 of 5") and what
finished lately (verdict, points, duration); its live part answers 204 while nothing changes and
the new content once something does."""

from __future__ import annotations

import re
from datetime import timedelta

from django.utils import timezone

from assay.storer.evaluation import progress, services
from assay.storer.evaluation.models import Job

from .conftest import SUM_OK
from .test_api_tester import claim
from .test_web_pages import login


def _digest(html: str) -> str:
    found = re.search(r'hx-get="/manage/queue/live/\?since=([0-9a-f]+)"', html)
    assert found, html[:2000]
    return found.group(1)


def test_the_queue_page_shows_queued_running_finished_and_failed_jobs(cast):
    def submit():
        alice = cast.users["alice"]
        return services.create_submission(cast.sum, alice, alice, {"sum.c": SUM_OK}).jobs.get()

    queued, running, finished, failed = submit(), submit(), submit(), submit()
    claim(cast, running)
    assert progress.record(cast.tester, running.id, 1, 2, 5)
    now = timezone.now()
    Job.objects.filter(pk=finished.pk).update(
        state=Job.DONE, verdict="WA", points=4.0, max_points=10.0, tester=cast.tester,
        claimed_at=now - timedelta(seconds=3), finished_at=now,
    )  # fmt: skip
    Job.objects.filter(pk=failed.pk).update(state=Job.FAILED, error="the tester vanished")
    html = login(cast, "admin").get("/manage/queue/").content.decode()
    rows = {
        state: re.search(rf'<tr data-job="{job.id}" data-state="{state}">(.*?)</tr>', html, re.S)
        for state, job in (("queued", queued), ("running", running), ("done", finished), ("failed", failed))
    }  # fmt: skip
    assert all(rows.values()), html
    assert queued.queue in rows["queued"].group(1)
    assert "t1" in rows["running"].group(1) and "test 3 of 5" in rows["running"].group(1)
    assert "WA" in rows["done"].group(1) and "4 / 10" in rows["done"].group(1)
    assert "3.0 s" in rows["done"].group(1)
    assert "the tester vanished" in rows["failed"].group(1)
    assert f'id="retry-{failed.id}"' in rows["failed"].group(1)


def test_the_live_part_is_a_204_until_a_job_changes_state(cast):
    alice = cast.users["alice"]
    failed = services.create_submission(cast.sum, alice, alice, {"sum.c": SUM_OK}).jobs.get()
    Job.objects.filter(pk=failed.pk).update(state=Job.FAILED, error="lost")  # a form: a CSRF token
    job = services.create_submission(cast.sum, alice, alice, {"sum.c": SUM_OK}).jobs.get()
    admin = login(cast, "admin")
    since = _digest(admin.get("/manage/queue/").content.decode())
    assert admin.get("/manage/queue/live/", {"since": since}).status_code == 204
    claim(cast, job)
    changed = admin.get("/manage/queue/live/", {"since": since})
    assert changed.status_code == 200
    html = changed.content.decode()
    assert f'data-job="{job.id}" data-state="running"' in html and _digest(html) != since
    assert admin.get("/manage/queue/live/", {"since": _digest(html)}).status_code == 204


def test_only_administrators_follow_the_queue(cast):
    assert login(cast, "teacher").get("/manage/queue/live/").status_code == 403
    assert login(cast, None).get("/manage/queue/live/").status_code == 302
