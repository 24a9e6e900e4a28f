"""The API against its own OpenAPI schema (schemathesis, issue 9): as a student, a supervisor and
a tester, generated requests — ones that keep to the schema and ones that break it — to every
operation of a live test server get no server error, and every status they get is one the schema
declares for the operation (each 4xx with the error shape), among schemathesis' other checks.

Bounded: EXAMPLES cases per operation and generation mode, the same ones every run, no deadline
per case (the first request of a kind is slow on this 2-core machine); about 20 s per caller.
SCHEMA_EXAMPLES=200 runs a deeper, random search by hand."""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import positive_data_acceptance

from .conftest import Cast

CALLERS = {"student": "alice", "supervisor": "teacher", "tester": "tester"}
EXAMPLES = int(os.environ.get("SCHEMA_EXAMPLES", "4"))
DETERMINISTIC = "SCHEMA_EXAMPLES" not in os.environ  # the suite's cases are the same every run


@pytest.fixture(params=sorted(CALLERS))
def caller(request, transactional_db) -> dict[str, str]:
    """The cast, in a database the live server sees; the caller's credential."""
    cast = Cast()
    who = CALLERS[request.param]
    token = cast.tester_token if who == "tester" else cast.tokens[who]
    return {"Authorization": f"Bearer {token}"}


def check_operation(operation, mode: GenerationMode, headers: dict[str, str]) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=DETERMINISTIC,
        suppress_health_check=list(HealthCheck),
    )
    def check(case):
        # a Host header that is not the server's is refused by Django (ALLOWED_HOSTS) before any
        # API code: the deployment's setting, not an input of the API
        for name in [n for n in case.headers or {} if n.lower() == "host"]:
            del case.headers[name]
        # every check schemathesis has (no 5xx, documented status codes, content types and
        # response schemas, invalid data rejected, authentication not ignored ...) but "valid
        # data is accepted": a schema-valid upload of random bytes is rightly a 400 (bad_archive)
        case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

    check()


@pytest.mark.slow
def test_the_api_keeps_to_its_schema(live_server, caller):
    # the caller's credential is the test's: schemathesis does not generate (or break) one
    config = schemathesis.Config.from_dict({"generation": {"with-security-parameters": False}})
    schema = schemathesis.openapi.from_url(live_server.url + "/api/openapi.json", config=config)
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                check_operation(operation, mode, caller)
            except Unsatisfiable:  # nothing to break: no parameters, or only free text
                assert mode == GenerationMode.NEGATIVE, operation.label
            except (Exception, BaseExceptionGroup) as e:  # schemathesis' FailureGroup
                failures.append(f"{operation.label} ({mode.value}): {e}")
    assert not failures, "\n\n".join(failures)
