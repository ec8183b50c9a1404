"""Fixtures for API tests: the small world of ``api_world`` behind a TestClient. Import
``client_fixture, world_fixture`` into a test module to use ``client`` and ``world``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from billing.api import create_app
from tests.api.api_world import World, build


@pytest.fixture(name="world")
def world_fixture(db: Engine, tmp_path: Path) -> World:
    return build(db, tmp_path)


@pytest.fixture(name="client")
def client_fixture(db: Engine, world: World) -> Iterator[TestClient]:
    with TestClient(create_app(db)) as test_client:
        yield test_client
