"""Issue 11: a bounded schema-driven fuzz run (schemathesis, all checks) against a real
server on 127.0.0.1. The OpenAPI schema must say what the server answers: every status,
every error body. Runs never get a worker here (the launch is a no-op), so the fuzzing
exercises the API, not training."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from live_server import LiveServer
from unlearnscope.api.app import create_app
from unlearnscope.api.openapi import CROSS_FIELD
from unlearnscope.presets import preset_config
from unlearnscope.settings import Settings
from unlearnscope.states import RunStatus

EXAMPLES = 25  # per operation; about 20 operations: a few hundred cases in all
CASES: list[int] = []  # one entry per case run, for the count at the end


def _schema() -> dict:
    """The schema of an app like the one served below (built here, at collection)."""
    with tempfile.TemporaryDirectory() as home:
        app = create_app(Settings(home=Path(home), device="cpu"))
        document = app.openapi()
        app.state.service.db.dispose()
        return document


# Every check, as configured by default, "schema-valid request rejected" included: a
# request that fits the schema is not refused 4xx (but 401/403/404/409/429), so the schema
# states every bound, choice and refusal. Two widenings, each of an operation's own:
# - the operations whose body has rules across fields or against the server's files
#   (openapi.CROSS_FIELD: a trigger that fits the image, a forget set for the phases that
#   use one, a total-step or memory limit, a file that is on the server) may answer 422
#   to a request that fits the schema; their 422 in the schema names those rules;
# - an upload's `file` part is bytes, so the "schema-violating" values schemathesis puts
#   there (`null`, a number) arrive as files of those bytes, which the server rightly
#   stores; negative_data_rejection is off for POST /api/files.
ACCEPTED = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]  # schemathesis' default
CROSS_FIELD_OPERATIONS = [
    {
        "include-path": path,
        "include-method": method.upper(),
        "checks": {"positive_data_acceptance": {"expected-statuses": [*ACCEPTED, "422"]}},
    }
    for method, path in CROSS_FIELD
]
CONFIG = SchemathesisConfig.from_dict(
    {
        "operations": [
            *CROSS_FIELD_OPERATIONS,
            {
                "include-path": "/api/files",
                "include-method": "POST",
                "checks": {"negative_data_rejection": {"enabled": False}},
            },
        ],
    }
)
schema = schemathesis.openapi.from_dict(_schema(), config=CONFIG)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    home = tmp_path_factory.mktemp("fuzz")
    with LiveServer(home, Path(home) / "cache", control_timeout=0.2) as live:
        live.service.pool._launch = lambda run_id: None  # no workers while fuzzing
        live.service.store.create("done1", preset_config("tiny"), RunStatus.COMPLETED)
        yield live


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_the_api_answers_as_its_schema_says(case: schemathesis.Case, server: LiveServer) -> None:
    CASES.append(1)
    case.call_and_validate(base_url=server.url, timeout=120)  # a busy CPU: torch loads


def test_the_fuzz_run_was_a_real_one() -> None:
    print(f"schemathesis: {len(CASES)} cases run")
    assert len(CASES) >= 200
