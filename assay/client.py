"""`assay submit`: the command-line client of the storer's REST API."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx

FINAL = ("done", "failed")


LONG_POLL_S = 25.0  # the storer answers at once when the submission changes


class ApiError(RuntimeError):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code = status, code


class Client:
    def __init__(self, url: str, token: str, timeout: float = 60.0) -> None:
        self.http = httpx.Client(
            base_url=url.rstrip("/") + "/api",
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
        )

    def _json(self, response: httpx.Response) -> Any:
        if response.status_code >= 400:
            try:
                err = response.json()["error"]
                raise ApiError(
                    response.status_code, err.get("code", "error"), err.get("message", "")
                )
            except (ValueError, KeyError, TypeError):
                raise ApiError(response.status_code, "error", response.text[:300]) from None
        return response.json()

    def resolve_assignment(self, ref: str) -> int:
        """An assignment by id, or by ``course/slug``."""
        if ref.isdigit():
            return int(ref)
        course, _, slug = ref.partition("/")
        if not slug:
            raise ApiError(
                400, "invalid", f"name the assignment as an id or COURSE/SLUG, not {ref!r}"
            )
        page = 1
        while True:  # the list comes in pages of 100; a storer before pages sends one, whole
            response = self.http.get(f"/courses/{course}/assignments", params={"page": page})
            for a in self._json(response):
                if a["slug"] == slug:
                    return int(a["id"])
            if "next" not in response.links:
                break
            page += 1
        raise ApiError(404, "not_found", f"no assignment {slug!r} in course {course!r}")

    def submit(
        self,
        assignment: int,
        files: list[Path],
        for_user: str | None = None,
        language: str | None = None,
    ) -> dict[str, Any]:
        data = {"for_user": for_user} if for_user else {}
        if language:
            data["language"] = language
        if len(files) == 1 and files[0].suffix == ".zip":
            upload = [("archive", (files[0].name, files[0].read_bytes(), "application/zip"))]
        else:
            upload = [
                ("files", (f.name, f.read_bytes(), "application/octet-stream")) for f in files
            ]
        return self._json(
            self.http.post(f"/assignments/{assignment}/submissions", data=data, files=upload)
        )

    def submission(self, submission_id: int) -> dict[str, Any]:
        return self._json(self.http.get(f"/submissions/{submission_id}"))

    def wait(
        self, submission_id: int, on_update: Any = None, timeout: float = 600.0, poll_s: float = 0.1
    ) -> dict[str, Any]:
        """Follow a submission until it is final, calling ``on_update`` with each new state.

        Long polling: each request names the ``version`` already seen and the storer answers
        when the submission changes (or after ``LONG_POLL_S`` unchanged), so the result shows
        the moment it is stored. A storer that answers at once anyway (an older one, or one
        with every waiting slot taken) is asked again after ``poll_s``, then after twice as
        long each time it answers at once again, up to 1 s."""
        deadline = time.monotonic() + timeout
        version = ""
        pause = poll_s
        while True:
            params: dict[str, str | float] = (
                {"wait": LONG_POLL_S, "since": version} if version else {}
            )
            asked = time.monotonic()
            doc = self._json(
                self.http.get(
                    f"/submissions/{submission_id}", params=params, timeout=LONG_POLL_S + 30
                )
            )
            unchanged = doc.get("version") == version
            version = doc.get("version", "")
            if on_update and not unchanged:
                on_update(doc)
            if doc["status"] in FINAL or doc["status"] == "not_evaluated":
                return doc
            if time.monotonic() > deadline:
                raise ApiError(
                    408,
                    "timeout",
                    f"submission {submission_id} is still {doc['status']} after {timeout:g} s",
                )
            if not version or (unchanged and time.monotonic() - asked < LONG_POLL_S / 2):
                # answered at once, unchanged (a busy or older storer): ask again, less often
                # each time in a row (up to a second), not ten times a second for minutes
                time.sleep(pause)
                pause = min(max(pause * 2, poll_s), max(poll_s, 1.0))
            else:
                pause = poll_s
