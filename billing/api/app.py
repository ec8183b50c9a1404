"""The application factory: ``create_app(engine or URL)``.

Routers for capabilities that live in other modules (invoicing, rating previews, Stripe
webhooks, reconciliation) are included when those modules exist in this checkout; a route is
never published as a stub. OpenAPI is at ``/openapi.json`` and the explorer at ``/docs``:
Swagger UI served from the application's own files (the ``swagger-ui-bundle-v2`` package:
Swagger UI 5, which reads OpenAPI 3.1, under ``/static/swagger``), so it renders without a
network.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine

from billing.api import logs, pages
from billing.api.routes import (
    clients,
    console,
    console_documents,
    console_money,
    contracts,
    documents,
    interactions,
    payments,
    portal,
    portal_login,
)
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
        docs_url=None,
        redoc_url=None,
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

    routers: list[APIRouter] = [
        clients.router,
        contracts.router,
        documents.router,
        interactions.router,
        payments.router,
        portal.router,
    ]
    routers += [console.router, console_documents.router, console_money.router]
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

    install_docs(app)

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/portal")

    return app


SWAGGER = "/static/swagger"


def install_docs(app: FastAPI) -> None:
    """``/docs``: Swagger UI from the bundled files, never a CDN."""
    from swagger_ui_bundle import swagger_ui_path

    app.mount(SWAGGER, StaticFiles(directory=str(swagger_ui_path)), name="swagger")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title=f"{app.title} · Swagger UI",
            swagger_js_url=f"{SWAGGER}/swagger-ui-bundle.js",
            swagger_css_url=f"{SWAGGER}/swagger-ui.css",
            swagger_favicon_url=f"{SWAGGER}/favicon-32x32.png",
            oauth2_redirect_url="/docs/oauth2-redirect",
        )

    @app.get("/docs/oauth2-redirect", include_in_schema=False)
    def oauth2_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()
