"""The OpenAPI schema is made once per process: every later request is served the same one
(making it costs about a second of cpu; concurrent first requests wait for one maker)."""

from __future__ import annotations

import threading

from assay.storer.api import AssayAPI, api


def test_the_schema_is_made_once_whatever_the_number_of_callers(monkeypatch):
    made = []
    original = AssayAPI.__mro__[1].get_openapi_schema

    def counting(self, **kwargs):
        made.append(kwargs)
        return original(self, **kwargs)

    monkeypatch.setattr(AssayAPI, "_schemas", {})
    monkeypatch.setattr(AssayAPI.__mro__[1], "get_openapi_schema", counting)
    got = []
    callers = [
        threading.Thread(target=lambda: got.append(api.get_openapi_schema())) for _ in range(4)
    ]
    for t in callers:
        t.start()
    for t in callers:
        t.join()
    assert len(made) == 1 and len(got) == 4 and all(s is got[0] for s in got)
    assert "/api/courses/{slug}/groups" in got[0]["paths"]


def test_the_served_schema_is_the_cached_one(client):
    first = client.get("/api/openapi.json").json()
    assert first == client.get("/api/openapi.json").json()
    assert first["paths"]
