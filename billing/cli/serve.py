"""``billing serve``: the HTTP API and the client portal (uvicorn)."""

from __future__ import annotations

import typer

from billing.cli.common import console, state


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve(
        host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on"),
        port: int = typer.Option(8000, "--port", help="Port to listen on"),
        forwarded_allow_ips: str | None = typer.Option(
            None,
            "--forwarded-allow-ips",
            envvar="BILLING_FORWARDED_ALLOW_IPS",
            help="Behind a reverse proxy: the proxy addresses (comma-separated, or *) whose "
            "X-Forwarded-Proto and X-Forwarded-For are believed. Without it they are ignored.",
        ),
    ) -> None:
        """Serve the API (OpenAPI at /openapi.json, explorer at /docs) and the portal (/portal).

        The access log masks secrets (token= in a query, Authorization values). The portal's
        session cookie is Secure when the request came over https: directly, or through a
        proxy named with --forwarded-allow-ips that says so in X-Forwarded-Proto."""
        import uvicorn

        from billing.api import create_app
        from billing.api.logs import uvicorn_log_config

        console.print(f"API on http://{host}:{port}/docs, portal on http://{host}:{port}/portal", highlight=False)
        uvicorn.run(
            create_app(state.engine()),
            host=host,
            port=port,
            log_level="info",
            log_config=uvicorn_log_config(),
            proxy_headers=forwarded_allow_ips is not None,
            forwarded_allow_ips=forwarded_allow_ips,
        )
