"""``billing pdf invoice ID --out FILE``: an invoice, credit or debit note as PDF."""

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
        """Write an invoice or note as PDF in its client's language, with its legal fields."""
        from sqlmodel import select

        from billing.presentation.templating import pdf
        from billing.statements.rendering import document_html
        from billing.statements.store import client_view, document_views
        from billing.storage.db import reading
        from billing.storage.models import Client, Document

        with reading(state.engine()) as session:
            text = reference.strip()
            document = session.get(Document, int(text)) if text.isdigit() else None
            document = document or session.exec(select(Document).where(Document.number_text == text)).first()
            if document is None:
                fail(f"no document {text!r} (give an id or a number such as F001-00000001)")
            client = session.get(Client, document.client_id)
            assert client is not None
            view = document_views(session, [document])[0]
        out.write_bytes(pdf(document_html(view, client_view(client), for_pdf=True)))
        console.print(f"wrote {out} ({view.number_text or 'draft ' + str(view.id)})", highlight=False)
