"""The storer's REST API (django-ninja); the OpenAPI schema is served at /api/openapi.json."""

import threading
from typing import Any, ClassVar

from ninja import NinjaAPI
from ninja.parser import Parser

from . import authoring as authoring_api
from . import code, errors, feedback, grading, groups, roster, tester, users
from . import rules as rules_api
from . import similarity as similarity_api
from . import statistics as statistics_api


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


class StrictParser(Parser):
    """Every JSON body of this API is an object: anything else (``0``, ``[]``, ``"x"``) is a 400,
    not read as an empty object, as django-ninja would for a body whose fields are all optional.
    No text may hold a NUL character (PostgreSQL cannot store one: it was a 500 there)."""

    def parse_body(self, request: Any) -> Any:
        data = super().parse_body(request)
        if not isinstance(data, dict):
            raise errors.BodyRefused("the body must be a JSON object")
        if _has_nul(data):
            raise errors.BodyRefused("NUL characters are not allowed")
        return data

    def parse_querydict(self, data: Any, list_fields: list[str], request: Any) -> Any:
        for key, values in data.lists():
            if _has_nul(key) or _has_nul(values):
                raise errors.ApiError(
                    400, "invalid", f"{key}: NUL characters are not allowed", key.strip("\x00")
                )
        return super().parse_querydict(data, list_fields, request)


class AssayAPI(NinjaAPI):
    """The OpenAPI schema is made once per process (with every router it costs about a second of
    cpu, more than a loaded machine's clients wait for /api/openapi.json; the routes never change
    while the storer runs)."""

    _schemas: ClassVar[dict[str, Any]] = {}
    _schemas_lock = threading.Lock()  # one thread makes it, the others wait for it

    def get_openapi_schema(self, *, path_prefix: str | None = None, path_params: Any = None) -> Any:
        if path_prefix is None:
            path_prefix = self.get_root_path(path_params or {})
        with self._schemas_lock:
            if path_prefix not in self._schemas:
                self._schemas[path_prefix] = super().get_openapi_schema(path_prefix=path_prefix)
            return self._schemas[path_prefix]


api = AssayAPI(
    parser=StrictParser(),
    title="assay",
    version="1",
    description="Courses, assignments, submissions and results; and the testers' job endpoints.",
    urls_namespace="api",
)
errors.install(api)
api.add_router("/", users.router)
api.add_router("/", code.router)
api.add_router("/", feedback.router)
api.add_router("/", groups.router)
api.add_router("/", roster.router)
api.add_router("/", grading.router)
api.add_router("/", rules_api.router)
api.add_router("/", statistics_api.router)
api.add_router("/", authoring_api.router)
api.add_router("/", similarity_api.router)
api.add_router("/tester", tester.router)
