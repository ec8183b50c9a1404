"""Every page and document kind, in each language, shows words in that language and no raw
code: the portal's and the console's GET pages (found by walking the routes the app
registers, so a page added later is covered), their PDFs (text read back with pypdf), the
statement and document PDFs rendered in each language, and the simulation report.

A Spanish page fails on an English message of the catalog (one whose Spanish differs) or a
code with a label shown as itself (``transfer``); an English page on a Spanish translation;
either on a snake_case word (``asa_seconds``, ``repeat_contact_after_issue``).
"""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import Engine
from sqlmodel import select

from billing.api import create_app
from billing.presentation.i18n import LOCALES
from billing.presentation.labels import LABELS
from billing.presentation.templating import pdf
from billing.statements.rendering import document_html, statement_html
from billing.statements.store import client_view, document_views, load_statement
from billing.storage.db import reading, transaction
from billing.storage.models import Client, Contract, Document, DocumentLine, Reconciliation
from tests.api.api_world import World, add_document, add_payment, build
from tests.api.test_api_isolation import api_routes

SNAKE = re.compile(r"\b[a-z]+_[a-z0-9_]+\b")
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%%")
RANGE = {"from": "2026-01", "to": "2026-12"}


class Visible(HTMLParser):
    """The text a person sees: text outside style and script, and placeholders and labels."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("style", "script"):
            self.hidden += 1
        self.parts += [v for k, v in attrs if k in ("placeholder", "aria-label", "alt") and v]

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script"):
            self.hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def visible(html: str) -> str:
    parser = Visible()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split()).replace("\xa0", " ")


def _catalog() -> list[tuple[str, str]]:
    from babel.messages.pofile import read_po

    with (LOCALES / "es" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        out = []
        for m in read_po(handle):
            if not m.id:
                continue
            ids = m.id if isinstance(m.id, tuple) else (m.id,)
            strings = m.string if isinstance(m.string, tuple) else (m.string,)
            out += [(i, s) for i, s in zip(ids, strings, strict=False) if s and s != i]
        return out


CATALOG = _catalog()


def _pattern(message: str) -> re.Pattern[str] | None:
    """A message as a pattern over visible text (placeholders match anything), or None when
    too short to tell from a coincidence (a single short word, a symbol)."""
    literals = [part for part in PLACEHOLDER.split(message) if part.strip()]
    longest = max((len(p.strip()) for p in literals), default=0)
    if longest < 4 or (" " not in message and (longest < 5 or message[:1].islower())):
        return None  # a short or lower-case single word could be data (a charge id such as "agents")
    body = ".{1,80}?".join(re.escape(" ".join(p.split())) for p in PLACEHOLDER.split(message))
    return re.compile(rf"(?<![\w-]){body}(?![\w-])")


ENGLISH = [(m, p) for m, _ in CATALOG if (p := _pattern(m))]
SPANISH = [(s, p) for _, s in CATALOG if len(s) >= 12 and " " in s and (p := _pattern(s))]
CODES = [code for code, message in LABELS.items() if "_" not in code and code != message.lower()]


def problems(text: str, language: str, data: tuple[str, ...] = ()) -> list[str]:
    """What is out of place in ``text``; ``data``: what the client or finance wrote (a note's
    reason, a contract's line names), shown as written and not checked."""
    for written in data:
        text = text.replace(written, " ")
    found = [f"raw code {code!r}" for code in SNAKE.findall(text)]
    if language == "es":
        found += [f"English {m!r}" for m, p in ENGLISH if p.search(text)]
        found += [f"code {c!r}" for c in CODES if re.search(rf"(?<![\w/-]){c}(?![\w-])", text)]
    else:
        found += [f"Spanish {s!r}" for s, p in SPANISH if p.search(text)]
    return found


def enrich(db: Engine, world: World) -> None:
    """What build() lacks: lines of every type as rating details them, a debit note, a partly
    paid invoice, and a reconciliation that found causes."""
    lines = [
        (
            "platform",
            "fixed",
            "Fixed fee",
            "0.516129",
            "12500",
            "6451.61",
            {"amount": "12500", "days_covered": 16, "days_in_month": 31, "prorated": True},
        ),
        (
            "agents",
            "fte",
            "Dedicated agents (FTE)",
            "40",
            "9500",
            "380000.00",
            {
                "rate": "9500",
                "fte_days": "1240",
                "days_in_month": 31,
                "days_covered": 31,
                "average_fte": "40",
                "minimum_fte": "35",
                "steps": [{"from": "2026-08-01", "to": "2026-08-31", "days": 31, "fte": "40", "contracted_fte": "40"}],
            },
        ),
        (
            "hours",
            "hourly",
            "Productive hours",
            "3537.25",
            "18.5",
            "65439.13",
            {"rate": "18.5", "productive_hours": "3537.25"},
        ),
        (
            "resolutions",
            "usage",
            "Resolutions (ai)",
            "9042",
            "2.5",
            "22605.00",
            {
                "metric": "resolutions",
                "measured": "9042",
                "included": "100",
                "billable": "8942",
                "model": "volume",
                "units": "8942",
                "tiers": [{"from": "0", "to": "10000", "units": "8942", "unit_price": "2.5"}],
                "filter": "ai",
                "minimum_amount": "25000",
            },
        ),
        (
            "resolutions",
            "minimum_true_up",
            "Minimum true-up: Resolutions (ai)",
            "1",
            "2395",
            "2395.00",
            {"minimum_amount": "25000", "charged": "22605.00", "shortfall": "2395.00"},
        ),
        (
            "speed",
            "service_credit",
            "Service credit: speed (service_level 74.44, target >= 80)",
            "1",
            "-1000",
            "-1000.00",
            {
                "level": "speed",
                "metric": "service_level",
                "value": "74.44",
                "target": "80",
                "comparison": "at least",
                "sample": 26519,
                "met": False,
                "threshold_seconds": 20,
                "filter": "voice",
                "allocation_percent": "40",
                "at_risk_amount": "2500.00",
                "at_risk_percent": "10",
                "credit_before_cap": "1000.00",
            },
        ),
        (
            "fcr",
            "earnback",
            "Earnback: fcr credit of 2026-05 (met for 3 months)",
            "1",
            "500",
            "500.00",
            {
                "level": "fcr",
                "credit_period": "2026-05",
                "credit": "500.00",
                "earnback_months": 3,
                "met_in": [{"period": "2026-06"}, {"period": "2026-07"}, {"period": "2026-08"}],
            },
        ),
    ]
    august = add_document(
        db,
        "ANDES-1",
        "2026-08",
        series="F001",
        number=3,
        lines=lines,
        tax_name="IGV",
        tax_rate="18",
        issue_date=date(2026, 11, 20),
        service_levels=[],
        kpis={},
    )
    add_payment(db, august, "1000.00", date(2026, 11, 24), "BCP-0002")
    add_document(
        db,
        "ANDES-1",
        "2026-10",
        kind="debit_note",
        series="F001",
        number=4,
        tax_name="IGV",
        tax_rate="18",
        issue_date=date(2026, 11, 21),
        corrects=world.andes_invoice,
        lines=[
            (
                "resolutions",
                "usage",
                "Contactos repetidos",
                "1",
                "120",
                "120.00",
                {"corrects": "F001-00000002", "corrects_line": 2},
            )
        ],
    )
    with transaction(db) as session:
        contract = session.exec(select(Contract).where(Contract.code == "ANDES-1")).one()
        session.add(
            Reconciliation(
                contract_id=contract.id or 0,
                period="2026-10",
                document_id=world.andes_invoice,
                reconciled_at=datetime(2026, 11, 25, tzinfo=UTC),
                result={
                    "net_difference": "-37.50",
                    "within_tolerance": False,
                    "discrepancies": [{"cause": "repeat_contact_after_issue"}, {"cause": "late_interactions"}],
                },
            )
        )


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def pages(app: object, home: str) -> list[str]:
    """Every GET page the app registers under ``home`` (sign-in pages apart; XML is data)."""
    return sorted(
        {
            path
            for method, path, _ in api_routes(app)
            if method == "GET" and path.startswith(home) and not path.endswith(("/login", "/xml"))
        }
    )


@pytest.mark.parametrize("language", ["es", "en"])
def test_every_portal_and_console_page_speaks_one_language(db: Engine, tmp_path: Path, language: str) -> None:
    world = build(db, tmp_path)
    enrich(db, world)
    app = create_app(db)
    with reading(db) as session:
        documents = session.exec(select(Document)).all()
        data = tuple(d.reason for d in documents if d.reason)
        traceable: dict[int | None, list[int]] = {}
        for line in session.exec(select(DocumentLine).order_by(DocumentLine.position)).all():  # type: ignore[arg-type]
            if line.type in ("usage", "service_credit"):
                traceable.setdefault(line.document_id, []).append(line.position)
    portal, console = TestClient(app), TestClient(app)
    first = portal.get(f"/portal?token={world.andes_token}")
    portal.post("/portal/language", data={"language": language, "next": "/portal", "csrf": csrf_of(first.text)})
    board = console.post("/console/login", data={"token": world.finance_token})
    console.post("/console/language", data={"language": language, "next": "/console", "csrf": csrf_of(board.text)})
    checked: dict[str, list[str]] = {}
    for home, browser in (("/portal", portal), ("/console", console)):
        for path in pages(app, home):
            ids = [d.id for d in documents if home == "/console" or (d.client_id == "andes" and d.status != "draft")]
            targets = [(d, None) for d in ids] if "{document_id}" in path else [(None, None)]
            if "{line}" in path:  # the contacts behind a line: every usage and service-credit line
                targets = [(d, n) for d in ids for n in traceable.get(d, [])]
            for document_id, line in targets:
                url = path.replace("{document_id}", str(document_id)).replace("{line}", str(line))
                answer = browser.get(url, params=RANGE if path == "/portal" else None)
                # a line whose contacts are not in this world answers a page that says so (409)
                assert answer.status_code == 200 or (line and answer.status_code == 409), (url, answer.status_code)
                if answer.headers["content-type"].startswith("text/csv"):
                    continue  # data, not words
                if answer.headers["content-type"].startswith("application/pdf"):
                    if "/documents/" in url:
                        continue  # a document's PDF is in the client's language: rendered in both below
                    reader = PdfReader(io.BytesIO(answer.content))
                    text = " ".join(" ".join((p.extract_text() or "").split()) for p in reader.pages)
                else:
                    text = visible(answer.text)
                checked[url] = problems(text, language, data)
    for home in ("/portal", "/console"):
        sign_in = TestClient(app).get(f"{home}/login", params={"lang": language})
        checked[f"{home}/login"] = problems(visible(sign_in.text), language)
    assert len(checked) >= 20
    assert {url: found for url, found in checked.items() if found} == {}


@pytest.mark.parametrize(("locale", "language"), [("es_PE", "es"), ("es_MX", "es"), ("en_US", "en")])
def test_every_document_kind_and_the_statement_as_pdf(db: Engine, tmp_path: Path, locale: str, language: str) -> None:
    world = build(db, tmp_path)
    enrich(db, world)
    with reading(db) as session:
        client = client_view(session.get(Client, "andes"))  # type: ignore[arg-type]
        views = document_views(session, list(session.exec(select(Document)).all()), date(2026, 11, 30))
        from billing.core.periods import Period

        statement = load_statement(session, "andes", Period(2026, 1), Period(2026, 11), date(2026, 11, 30))
    kinds = {(v.kind, v.status) for v in views}
    assert {("invoice", "issued"), ("invoice", "draft"), ("credit_note", "issued"), ("debit_note", "issued")} <= kinds
    found = {}
    for view in views:
        html = document_html(view, client, for_pdf=True, locale=locale)
        found[f"{view.kind} {view.id}"] = problems(visible(html), language, (view.reason or "",))
    pdf_text = " ".join(
        page.extract_text() or ""
        for page in PdfReader(io.BytesIO(pdf(document_html(views[-1], client, for_pdf=True, locale=locale)))).pages
    )
    found["a pdf"] = problems(" ".join(pdf_text.split()), language)
    found["statement"] = problems(visible(statement_html(statement, for_pdf=True, locale=locale)), language)
    assert {k: v for k, v in found.items() if v} == {}
    assert Decimal(1)  # the figures themselves are checked by the statement and explain tests


@pytest.mark.parametrize(("locale", "language"), [("es_PE", "es"), ("en_US", "en")])
def test_the_simulation_report_speaks_one_language(locale: str, language: str) -> None:
    from billing.simulation.report import report_html
    from billing.simulation.run import simulate
    from tests.simulation.small_case import OCT, scenarios

    html = report_html(simulate("SIM-1", scenarios(), [OCT], sweep=True), locale)
    assert problems(visible(html), language) == []
