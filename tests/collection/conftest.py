"""Fixtures for collection tests: the local Stripe-compatible server and a gateway to it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from billing.collection.gateway import Gateway, StripeSettings
from tests.collection.stripe_server import StripeServer

NOW = datetime(2026, 11, 5, 15, 0, tzinfo=UTC)
SECRET = "whsec_test_secret"


@pytest.fixture
def server() -> Iterator[StripeServer]:
    with StripeServer(now=int(NOW.timestamp())) as running:
        yield running


@pytest.fixture
def gateway(server: StripeServer) -> Gateway:
    return Gateway(StripeSettings(api_key=server.state.api_key, api_base=server.url, max_network_retries=0))
