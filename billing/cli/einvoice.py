"""``billing einvoice DOCUMENT --out F.pdf | --xml F.xml``: an issued invoice or note as an EN
16931 e-invoice (Factur-X / ZUGFeRD hybrid PDF, or its Cross Industry Invoice XML alone)."""

from __future__ import annotations

from pathlib import Path

import typer

from billing.cli.common import console, fail, state


def register(app: typer.Typer) -> None:
    @app.command("einvoice")
    def einvoice(
        reference: str = typer.Argument(..., metavar="DOCUMENT", help="The document's id or number (F001-00000007)"),
        out: Path = typer.Option(None, "--out", help="Write the Factur-X PDF (PDF/A-3 with the XML inside) here"),
        xml: Path = typer.Option(None, "--xml", help="Write the Cross Industry Invoice XML here"),
    ) -> None:
        """Write an issued invoice, credit or debit note as an EN 16931 e-invoice. The XML is
        checked against the official Factur-X schema before anything is written; a draft, or
        a document whose parties lack a country, is refused with the reason."""
        from billing.invoicing.documents import find_document
        from billing.statements.einvoice.cii import cii_xml
        from billing.statements.einvoice.hybrid import facturx_pdf
        from billing.statements.store import client_view, document_views
        from billing.storage.db import reading
        from billing.storage.models import Client

        if out is None and xml is None:
            fail("give --out F.pdf, --xml F.xml, or both", 2)
        with reading(state.engine()) as session:
            try:
                document = find_document(session, reference)
            except LookupError as exc:
                fail(str(exc))
            client = session.get(Client, document.client_id)
            assert client is not None
            view = document_views(session, [document])[0]
            buyer = client_view(client)
        xml_bytes = cii_xml(view)  # refused (exit 1) before any file is written
        pdf_bytes = facturx_pdf(view, buyer) if out is not None else None
        if xml is not None:
            xml.write_bytes(xml_bytes)
            console.print(f"wrote {xml} (EN 16931 CII of {view.number_text})", highlight=False)
        if out is not None and pdf_bytes is not None:
            out.write_bytes(pdf_bytes)
            console.print(f"wrote {out} (Factur-X EN 16931 of {view.number_text})", highlight=False)
