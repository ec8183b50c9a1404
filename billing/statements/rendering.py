"""Statements and documents as HTML (Jinja2, templates in billing/templates) and PDF
(WeasyPrint). The same templates serve the portal, the CLI's --html and the PDFs."""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from billing.presentation.formatting import Formatter
from billing.statements.charts import trend
from billing.statements.views import ClientView, DocumentView, Statement


@cache
def environment() -> Environment:
    env = Environment(loader=PackageLoader("billing.presentation", "templates"), autoescape=select_autoescape(["html"]))
    env.filters["plain"] = _plain
    return env


def _plain(value: Any) -> str:
    """A detail value as text: lists and mappings flattened, None as a dash."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "✓" if value else "✗"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_plain(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return "; ".join(_plain(v) for v in value)
    return str(value)


def statement_html(statement: Statement, *, portal: bool = False, for_pdf: bool = False) -> str:
    fmt = Formatter.for_locale(statement.client.locale)
    return (
        environment()
        .get_template("statement.html")
        .render(s=statement, fmt=fmt, t=fmt.t, chart=trend(statement.documents), portal=portal, for_pdf=for_pdf)
    )


def document_html(document: DocumentView, client: ClientView, *, portal: bool = False, for_pdf: bool = False) -> str:
    fmt = Formatter.for_locale(client.locale)
    return (
        environment()
        .get_template("document.html")
        .render(d=document, client=client, fmt=fmt, t=fmt.t, portal=portal, for_pdf=for_pdf)
    )


def pdf(html: str) -> bytes:
    from weasyprint import HTML

    data: bytes = HTML(string=html).write_pdf()
    return data
