"""The contacts behind a document's line (``GET /v1/documents/{id}/lines/{line}/interactions``):
cursor paging as JSON, or every contact as CSV (``?format=csv``). A client token sees only its
own issued documents' lines (``billing.api.scope``), like everywhere."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, status
from fastapi.responses import Response, StreamingResponse
from sqlalchemy import Engine

from billing.api.deps import EngineDep, SessionDep
from billing.api.schemas import LineInteractions
from billing.api.scope import OwnedDocument
from billing.invoicing.tracing import NotTraceable, page, summary, trace_of
from billing.measurement.trace import MAX_PAGE, PAGE, parse_cursor
from billing.storage.db import reading
from billing.storage.models import Document

router = APIRouter(prefix="/v1/documents", tags=["documents"])
LinePosition = Annotated[int, Path(ge=1, le=10_000, description="The line's position on the document (1 = first)")]
CSV_COLUMNS = ("interaction_id", "started_at", "channel", "handled_by", "customer", "counted", "reason")
CSV_MORE = ("next_interaction_id", "next_started_at", "value", "in_numerator")


@router.get(
    "/{document_id}/lines/{line}/interactions",
    response_model=LineInteractions,
    responses={200: {"content": {"text/csv": {}}, "description": "JSON page, or every contact as CSV"}},
)
def line_interactions(
    session: SessionDep,
    engine: EngineDep,
    document: OwnedDocument,
    line: LinePosition,
    cursor: Annotated[str | None, Query(max_length=40, pattern=r"^-?\d{1,12}\.\d{1,18}$")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = PAGE,
    format: Annotated[str, Query(pattern="^(json|csv)$")] = "json",
) -> Response | LineInteractions:
    """Every contact of the line's period as of the document's data snapshot: counted or not
    and why not (usage lines), or in the level's sample with its verdict (service credits)."""
    try:
        trace = trace_of(session, document, line)
    except LookupError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    except NotTraceable as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    if format == "csv":
        name = f"{document.number_text or f'draft-{document.id}'}-line-{line}.csv"
        return StreamingResponse(
            _csv(engine, document, line),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    rows, following = page(session, trace, parse_cursor(cursor), limit)
    return LineInteractions(**summary(session, trace), data=[_public(r) for r in rows], next_cursor=following)


def _public(contact: dict) -> dict:  # type: ignore[type-arg]
    return {k: v for k, v in contact.items() if k != "cursor"}


def _csv(engine: Engine, document: Document, line: int) -> Iterator[str]:
    """Every contact, a page at a time, each page read in a short session of its own."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow((*CSV_COLUMNS, *CSV_MORE))
    after = None
    while True:
        with reading(engine) as session:
            rows, following = page(session, trace_of(session, document, line), after, 2000)
        for c in rows:
            nxt = c.get("next_contact") or {}
            numerator = c.get("in_numerator")
            writer.writerow(
                [
                    c["interaction_id"],
                    c["started_at"],
                    c["channel"],
                    c["handled_by"],
                    c["customer"] or "",
                    "true" if c["counted"] else "false",
                    c["reason"] or "",
                    nxt.get("interaction_id", ""),
                    nxt.get("started_at", ""),
                    c.get("value") or "",
                    "" if numerator is None else ("true" if numerator else "false"),
                ]
            )
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        if following is None:
            return
        after = parse_cursor(following)
