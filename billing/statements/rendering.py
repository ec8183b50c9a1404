"""Statements and documents as HTML; the same templates serve the portal, the console, the
CLI's --html and the PDFs (``billing.presentation.templating.pdf``).

``locale``: the reader's locale when it is not the client's (the portal's language switch);
``nav``: the portal's or console's top bar (links, language switch, sign out)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from billing.core.periods import Period
from billing.presentation.formatting import Formatter
from billing.presentation.templating import environment
from billing.statements.charts import trend
from billing.statements.views import ClientView, DocumentView, Statement


def statement_html(
    statement: Statement,
    *,
    portal: bool = False,
    for_pdf: bool = False,
    periods: list[dict[str, Any]] | None = None,
    current: list[dict[str, Any]] | None = None,
    locale: str | None = None,
    nav: dict[str, Any] | None = None,
    today: date | None = None,
) -> str:
    """The statement as HTML; in the portal, ``periods``: the states of the client's billing
    periods (``billing.invoicing.readiness`` as JSON), and ``current``: each contract's month so
    far (``billing current``), a card at the top."""
    fmt = Formatter.for_locale(locale or statement.client.locale)
    this_month = Period.of_date(today or datetime.now(UTC).date())
    return (
        environment(fmt.language)
        .get_template("statement.html")
        .render(
            s=statement,
            fmt=fmt,
            charts_list=trend(statement.documents),
            portal=portal,
            for_pdf=for_pdf,
            periods=periods or [],
            current=current or [],
            nav=nav,
            this_month=str(this_month),
        )
    )


def document_html(
    document: DocumentView,
    client: ClientView,
    *,
    portal: bool = False,
    for_pdf: bool = False,
    locale: str | None = None,
    nav: dict[str, Any] | None = None,
) -> str:
    fmt = Formatter.for_locale(locale or client.locale)
    return (
        environment(fmt.language)
        .get_template("document.html")
        .render(d=document, client=client, fmt=fmt, portal=portal, for_pdf=for_pdf, nav=nav)
    )


def contacts_html(
    document: DocumentView,
    client: ClientView,
    trace: dict[str, Any],
    rows: list[dict[str, Any]],
    next_cursor: str | None,
    *,
    locale: str | None = None,
    nav: dict[str, Any] | None = None,
) -> str:
    """The portal's page of the contacts behind one line (``billing.invoicing.tracing``), in
    the reader's language."""
    fmt = Formatter.for_locale(locale or client.locale)
    line = next(item for item in document.lines if item.position == trace["line"])
    return (
        environment(fmt.language)
        .get_template("line_contacts.html")
        .render(
            d=document,
            client=client,
            fmt=fmt,
            t=trace,
            rows=rows,
            line=line,
            next_cursor=next_cursor,
            portal=True,
            nav=nav,
        )
    )
