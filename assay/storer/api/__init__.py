"""The storer's REST API (django-ninja); the OpenAPI schema is served at /api/openapi.json."""

from ninja import NinjaAPI

from . import errors, tester, users

api = NinjaAPI(
    title="assay",
    version="1",
    description="Courses, assignments, submissions and results; and the testers' job endpoints.",
    urls_namespace="api",
)
errors.install(api)
api.add_router("/", users.router)
api.add_router("/tester", tester.router)
