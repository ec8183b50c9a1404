"""``GET /v1/documents/{id}/lines/{line}/interactions`` on the demo: cursor pages that join into
the whole line, the CSV form, and a client token that sees only its own documents' lines."""

from __future__ import annotations

import csv
import io

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlmodel import Session

from billing.access.tokens import create_token
from billing.api import create_app
from billing.storage.db import transaction
from billing.storage.models import Document


def test_pages_csv_and_scope(demo):
    with transaction(demo) as session:
        _, andino = create_token(session, "andino-api", client_id="banco-andino")
        _, other = create_token(session, "iberica-api", client_id="tienda-iberica")
    with Session(demo) as s:
        invoice = s.execute(select(Document).where(Document.number_text == "F001-00000003")).scalar_one()
    url = f"/v1/documents/{invoice.id}/lines/2/interactions"
    mine = {"Authorization": f"Bearer {andino}"}
    with TestClient(create_app(demo)) as http:
        first = http.get(f"{url}?limit=5000", headers=mine)
        assert first.status_code == 200, first.text
        body = first.json()
        assert body["agrees"] is True and body["quantity"] == "8542" and len(body["data"]) == 5000
        seen, cursor, counted = len(body["data"]), body["next_cursor"], sum(c["counted"] for c in body["data"])
        while cursor:
            page = http.get(f"{url}?limit=5000&cursor={cursor}", headers=mine).json()
            seen += len(page["data"])
            counted += sum(c["counted"] for c in page["data"])
            cursor = page["next_cursor"]
        assert (seen, counted) == (body["contacts"], 8542)

        as_csv = http.get(f"{url}?format=csv", headers=mine)
        assert as_csv.status_code == 200 and as_csv.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(as_csv.text)))
        assert len(rows) == body["contacts"] and sum(r["counted"] == "true" for r in rows) == 8542

        assert http.get(url, headers={"Authorization": f"Bearer {other}"}).status_code == 404
        assert http.get(f"/v1/documents/{invoice.id}/lines/1/interactions", headers=mine).status_code == 409
        assert http.get(f"/v1/documents/{invoice.id}/lines/99/interactions", headers=mine).status_code == 404
        assert http.get(f"{url}?cursor=nonsense", headers=mine).status_code == 422
