"""``billing serve``: the HTTP API and the client portal (uvicorn)."""

from __future__ import annotations

import typer

from billing.cli.common import console, state


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve(
        host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on"),
        port: int = typer.Option(8000, "--port", help="Port to listen on"),
    ) -> None:
        """Serve the API (OpenAPI at /openapi.json, explorer at /docs) and the portal (/portal)."""
        import uvicorn

        from billing.api import create_app

        console.print(f"API on http://{host}:{port}/docs, portal on http://{host}:{port}/portal", highlight=False)
        uvicorn.run(create_app(state.engine()), host=host, port=port, log_level="info")
