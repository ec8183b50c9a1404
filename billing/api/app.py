"""The application factory: ``create_app(engine or URL)``.

Routers for capabilities that live in other modules (invoicing, rating previews, Stripe
webhooks, reconciliation) are included when those modules exist in this checkout; a route is
never published as a stub. OpenAPI is at ``/openapi.json`` and the explorer at ``/docs``.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse
from sqlalchemy import Engine

from billing.api import logs, pages
from billing.api.routes import clients, contracts, documents, payments, portal, portal_login
from billing.storage.db import database_url, get_engine

#: Routers whose services come from other parts of the engine: (module, attribute).
OPTIONAL_ROUTERS = (
    ("billing.api.routes.invoicing", "router"),
    ("billing.api.routes.periods", "router"),
    ("billing.api.routes.rating", "router"),
    ("billing.api.routes.reconciliation", "router"),
    ("billing.api.routes.stripe_webhooks", "router"),
)


def _optional(module_name: str) -> ModuleType | None:
    """The module, or None when it (or a billing module it needs) is not in this checkout.
    Any other import error is a bug and is raised."""
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and (exc.name == module_name or exc.name.startswith("billing.")):
            return None
        raise


def create_app(database: Engine | str | None = None) -> FastAPI:
    engine = database if isinstance(database, Engine) else get_engine(database_url(database))
    app = FastAPI(
        title="BPO billing API",
        version="1.0",
        description=(
            "Finance endpoints need a finance token; client endpoints a client-scoped token "
            "(`billing tokens create`). Send it as `Authorization: Bearer TOKEN`. Objects of another "
            "client answer 404. Every POST that creates or changes money needs an `Idempotency-Key`: "
            "a retry with the same key and request replays the first answer; while the first request "
            "is still running a retry gets 409. A request that died in flight (server killed) holds "
            "its key for at most 60 seconds: after that a retry with the same request runs, once."
        ),
    )
    app.state.engine = engine
    logs.install()  # whoever serves this app, its access log never shows a token

    @app.middleware("http")
    async def refuse_nul(request: Request, call_next: Any) -> Any:
        """No stored text holds NUL (PostgreSQL cannot store it), so a path or query with one
        names nothing: refused as invalid instead of reaching the database."""
        if "\x00" in request.scope["path"] or b"%00" in request.scope["query_string"]:
            return JSONResponse({"detail": "parameters may not contain NUL (0x00)"}, status_code=422)
        return await call_next(request)

    routers: list[APIRouter] = [clients.router, contracts.router, documents.router, payments.router, portal.router]
    for module_name, attribute in OPTIONAL_ROUTERS:
        module = _optional(module_name)
        if module is not None:
            routers.append(getattr(module, attribute))
            if hasattr(module, "webhook_engine"):  # the Stripe webhook writes to this app's database
                app.dependency_overrides[module.webhook_engine] = lambda: engine
    for router in routers:
        app.include_router(router)
    portal_login.install(app)
    pages.install(app)

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/portal")

    return app
