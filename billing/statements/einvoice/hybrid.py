"""The Factur-X / ZUGFeRD hybrid: the document's PDF/A-3 with its EN 16931 XML embedded as
``factur-x.xml`` (relationship ``Data``), XMP metadata saying so, and the XML checked against
the official XSD by the ``factur-x`` library on the way in."""

from __future__ import annotations

import logging

from billing.presentation.formatting import Formatter
from billing.presentation.templating import pdf
from billing.statements.einvoice.cii import EInvoiceRefused, cii_xml, refusal
from billing.statements.rendering import document_html
from billing.statements.views import ClientView, DocumentView

FLAVOR = "factur-x"
LEVEL = "en16931"


def facturx_pdf(doc: DocumentView, client: ClientView) -> bytes:
    """The document as a Factur-X PDF (EN 16931 profile); ``EInvoiceRefused`` when it cannot
    be an e-invoice (see ``billing.statements.einvoice.cii.refusal``)."""
    from facturx import generate_from_binary

    xml = cii_xml(doc)
    visual = pdf(document_html(doc, client, for_pdf=True), archival=True)
    fmt = Formatter.for_locale(client.locale)
    issuer = (doc.issuer or {}).get("legal_name", "")
    title = f"{issuer}: {fmt.label(doc.kind)} {doc.number_text}"
    metadata = {
        "author": issuer,
        "keywords": "Factur-X, EN 16931",
        "title": title,
        "subject": f"{title} ({doc.issue_date})",
    }
    logging.getLogger("factur-x").setLevel(logging.WARNING)  # it logs every step at INFO
    data: bytes = generate_from_binary(
        visual,
        xml,
        flavor=FLAVOR,
        level=LEVEL,
        check_xsd=True,
        pdf_metadata=metadata,
        lang=fmt.locale.replace("_", "-"),
    )
    return data


def document_pdf(doc: DocumentView, client: ClientView) -> bytes:
    """What a document's PDF is: the Factur-X hybrid when it can be an e-invoice, else the
    plain PDF (a draft, or a document issued without a party's country)."""
    if refusal(doc) is None:
        return facturx_pdf(doc, client)
    return pdf(document_html(doc, client, for_pdf=True))


__all__ = ["EInvoiceRefused", "cii_xml", "document_pdf", "facturx_pdf"]
