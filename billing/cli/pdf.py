"""``billing pdf invoice ID --out FILE``: an invoice, credit or debit note as PDF (a Factur-X
e-invoice once it is issued)."""

from __future__ import annotations

from pathlib import Path

import typer

from billing.cli.common import command_group, console, fail, state


def register(app: typer.Typer) -> None:
    group = command_group(help="Documents as PDF.")
    app.add_typer(group, name="pdf")

    @group.command("invoice")
    def invoice(
        reference: str = typer.Argument(..., help="The document's id or number (F001-00000007)"),
        out: Path = typer.Option(..., "--out", help="The PDF file to write"),
    ) -> None:
        """Write an invoice or note as PDF in its client's language, with its legal fields: both
        parties, the amount in words, withholding. An issued document's PDF is a Factur-X
        e-invoice (its EN 16931 XML inside) when both parties have their country."""
        from datetime import UTC, datetime

        from billing.invoicing.documents import find_document
        from billing.statements.einvoice.hybrid import document_pdf
        from billing.statements.store import client_view, document_views
        from billing.storage.db import reading
        from billing.storage.models import Client

        with reading(state.engine()) as session:
            try:
                document = find_document(session, reference)
            except LookupError as exc:
                fail(str(exc))
            client = session.get(Client, document.client_id)
            assert client is not None
            view = document_views(session, [document], datetime.now(UTC).date())[0]
        out.write_bytes(document_pdf(view, client_view(client)))
        console.print(f"wrote {out} ({view.number_text or 'draft ' + str(view.id)})", highlight=False)
