"""The HTTP API and the client portal (FastAPI). ``create_app`` builds the application."""

from billing.api.app import create_app

__all__ = ["create_app"]
