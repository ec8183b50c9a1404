"""Schemathesis over the published OpenAPI spec: generated requests for every operation, with
a finance token, against the small world; no answer may be a server error (5xx). Examples
are bounded per operation to keep the suite short.

The operations are read from the spec itself, so a new route is fuzzed too. (Schemathesis'
own pytest loader does not run on this pytest; its strategies are driven by hypothesis here.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, create_engine

from billing.api import create_app
from tests.api.api_world import World, build

MAX_EXAMPLES = 12
SPEC = create_app(create_engine("sqlite://")).openapi()
OPERATIONS = [(method.upper(), path) for path, item in SPEC["paths"].items() for method in item]


@pytest.fixture
def world(db: Engine, tmp_path: Path) -> World:
    return build(db, tmp_path)


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_no_operation_answers_with_a_server_error(
    method: str, path: str, db: Engine, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Unconfigured, the Stripe webhook answers 503 by design; configured, a forged signature is 400.
    monkeypatch.setenv("BILLING_STRIPE_WEBHOOK_SECRET", "whsec_schemathesis")
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(db))
    operation = schema[path][method]
    seen: list[int] = []

    known = {"document_id": world.andes_invoice, "client_id": "andes", "code": "ANDES-1"}

    def aimed(case: Any, use_known: bool) -> Any:
        """Half the examples aim at objects that exist, so the fuzzing gets past the 404s."""
        if use_known and case.path_parameters:
            case.path_parameters = {k: known.get(k, v) for k, v in case.path_parameters.items()}
        return case

    @given(case=st.tuples(operation.as_strategy(), st.booleans()).map(lambda pair: aimed(*pair)))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
    )
    def call(case: Any) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {world.finance_token}"}
        response = case.call()
        seen.append(response.status_code)
        assert response.status_code < 500, (
            f"{method} {case.formatted_path}: {response.status_code} {response.text[:300]}"
        )

    call()
    assert seen  # the operation was exercised
