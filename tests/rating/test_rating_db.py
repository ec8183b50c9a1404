"""Rating from the database, on SQLite and PostgreSQL: the golden case end to end, errors,
and earnback judged from the measured data of earlier months."""

from __future__ import annotations

import csv
import json
from datetime import datetime
from decimal import Decimal as D

import pytest
from sqlalchemy import Engine, insert, select

from billing.contracts.language import load_terms_text
from billing.contracts.store import active_contracts
from billing.core.periods import Period
from billing.measurement.contracts import load_contracts
from billing.measurement.rollup import rebuild
from billing.rating.engine import PeriodOutsideContract, rate_under
from billing.rating.lines import LineType
from billing.rating.service import outcomes_for, rate_contract, rate_contracts
from billing.storage.db import reading, transaction
from billing.storage.models import Contract, ImportBatch, Interaction
from tests.conftest import CONTRACTS, GOLDEN, load_example_entities

OCT = Period(2026, 10)


def insert_interactions(engine: Engine, rows: list[dict[str, str]]) -> None:
    """Store interaction rows the way the importer does: next contact of each customer
    included, and the contracts' daily rollup rebuilt (local days filled on the way)."""
    with transaction(engine) as session:
        codes = dict(session.execute(select(Contract.code, Contract.id)).all())  # type: ignore[call-overload]
        batch = ImportBatch(kind="interactions", source="test")
        session.add(batch)
        session.flush()
        starts = {
            row["interaction_id"]: datetime.fromisoformat(row["started_at"].replace("Z", "+00:00")) for row in rows
        }
        records = []
        for row in rows:
            start = starts[row["interaction_id"]]
            later = [
                starts[o["interaction_id"]]
                for o in rows
                if row.get("customer_id")
                and o.get("customer_id") == row["customer_id"]
                and starts[o["interaction_id"]] > start
            ]
            records.append(
                {
                    "contract_id": codes[row["contract"]],
                    "interaction_id": row["interaction_id"],
                    "channel": row["channel"],
                    "started_at": start,
                    "wait_seconds": int(row["wait_seconds"]),
                    "abandoned": row["abandoned"] == "true",
                    "handle_seconds": int(row["handle_seconds"]) if row.get("handle_seconds") else None,
                    "handled_by": row.get("handled_by") or "human",
                    "customer_id": row.get("customer_id") or None,
                    "resolved": row.get("resolved") == "true",
                    "escalated": row.get("escalated") == "true",
                    "csat": int(row["csat"]) if row.get("csat") else None,
                    "nps": int(row["nps"]) if row.get("nps") else None,
                    "qa_score": D(row["qa_score"]) if row.get("qa_score") else None,
                    "next_contact_at": min(later, default=None),
                    "batch_id": batch.id,
                }
            )
        session.execute(insert(Interaction), records)
        for contract_id in sorted({record["contract_id"] for record in records}):
            rebuild(session, contract_id)


def golden_rows() -> list[dict[str, str]]:
    with (GOLDEN / "interactions.csv").open() as handle:
        unique = {row["interaction_id"]: row for row in csv.DictReader(handle)}  # i2 appears twice
    return list(unique.values())


def test_golden_case_rates_from_the_database(db: Engine):
    load_contracts(db, [GOLDEN / "contract.yaml"])
    insert_interactions(db, golden_rows())
    with reading(db) as session:
        invoice = rate_contract(session, "GOLD-1", OCT).as_json()
    expected = json.loads((GOLDEN / "expected-rate-2026-10.json").read_text())
    assert (invoice["subtotal"], invoice["tax"], invoice["total"]) == ("103.55", "7.25", "110.80")
    for want in expected["lines"]:
        got = next(x for x in invoice["lines"] if x["charge"] == want["charge"] and x["type"] == want["type"])
        assert {k: D(got[k]) if k in ("quantity", "amount") else got[k] for k in want} == {
            k: D(v) if k in ("quantity", "amount") else v for k, v in want.items()
        }
    level = invoice["service_levels"][0]
    assert {k: level[k] for k in expected["service_levels"][0]} == expected["service_levels"][0]


def test_unknown_contract_and_uncovered_period_are_clear_errors(db: Engine):
    load_contracts(db, [GOLDEN / "contract.yaml"])
    with reading(db) as session:
        with pytest.raises(LookupError, match="no contract 'NOPE'"):
            rate_contract(session, "NOPE", OCT)
        with pytest.raises(PeriodOutsideContract, match="does not cover 2026-09"):
            rate_contract(session, "GOLD-1", Period(2026, 9))


def northwind_month(month: int, wait: int, count: int = 10) -> list[dict[str, str]]:
    return [
        {
            "interaction_id": f"m{month}-{n}",
            "contract": "NWH-2026",
            "channel": "voice",
            "started_at": f"2026-{month:02d}-{10 + n:02d}T15:00:00+00:00",
            "wait_seconds": str(wait),
            "abandoned": "false",
            "handle_seconds": "300",
        }
        for n in range(count)
    ]


def test_earnback_is_judged_from_the_measured_earlier_months(db: Engine):
    # Northwind: 12% of the charges at risk, answer time (ASA <= 30 s) carries 50%, earnback after 2 months.
    load_example_entities(db)
    load_contracts(db, [CONTRACTS / "northwind-health.yaml"])
    insert_interactions(db, northwind_month(8, wait=45) + northwind_month(9, wait=20) + northwind_month(10, wait=25))
    with reading(db) as session:
        august = rate_contract(session, "NWH-2026", Period(2026, 8))
        october = rate_contract(session, "NWH-2026", OCT)
        batch = rate_contracts(session, active_contracts(session, OCT), OCT)
    # August: 4500.00 fixed, no hours: at risk 540.00, answer time missed -> credit 270.00
    credit = next(x for x in august.lines if x.type is LineType.SERVICE_CREDIT)
    assert (credit.charge, credit.amount, credit.details["value"]) == ("answer-time", D("-270.00"), "45.00")
    earnback = next(x for x in october.lines if x.type is LineType.EARNBACK)
    assert (earnback.charge, earnback.amount, earnback.details["credit_period"]) == (
        "answer-time",
        D("270.00"),
        "2026-08",
    )
    assert october.total == D("4770.00")
    assert [(item.terms.code, invoice.total) for item, invoice in batch] == [("NWH-2026", D("4770.00"))]


def test_amendment_terms_govern_their_periods(db: Engine):
    load_example_entities(db)
    load_contracts(db, [CONTRACTS / "banco-andino.yaml", CONTRACTS / "banco-andino-2026-11.yaml"])
    rows = [
        {
            "interaction_id": f"{month}-{n}",
            "contract": "BANDINO-2026",
            "channel": "chat",
            "started_at": f"2026-{month:02d}-05T15:00:00+00:00",
            "wait_seconds": "5",
            "abandoned": "false",
            "handle_seconds": "100",
            "handled_by": "ai",
            "customer_id": f"c{month}-{n}",
            "resolved": "true",
        }
        for month in (10, 11)
        for n in range(3)
    ]
    insert_interactions(db, rows)
    with reading(db) as session:
        october = rate_contract(session, "BANDINO-2026", OCT)
        november = rate_contract(session, "BANDINO-2026", Period(2026, 11))
    ai_october = next(x for x in october.lines if x.charge == "ai-resolutions" and x.type is LineType.USAGE)
    ai_november = next(x for x in november.lines if x.charge == "ai-resolutions" and x.type is LineType.USAGE)
    assert (ai_october.amount, ai_november.amount) == (D("7.50"), D("6.90"))  # 3 x 2.50, then 3 x 2.30
    assert [r.id for r in november.service_levels][-1] == "quality"


def test_measured_outcomes_rate_under_alternative_terms_without_measuring_again(db: Engine):
    load_contracts(db, [GOLDEN / "contract.yaml"])
    insert_interactions(db, golden_rows())
    per_contact = (
        (GOLDEN / "contract.yaml").read_text().replace("metric: resolutions", "metric: contacts")
    )  # 7 answered contacts instead of 5 resolutions
    alternative, problems = load_terms_text(per_contact, "alternative.yaml")
    assert problems == [] and alternative is not None
    with reading(db) as session:
        item = active_contracts(session, OCT)[0]
        outcomes = outcomes_for(session, item, [OCT], extra_terms=[alternative])
        current = rate_contract(session, "GOLD-1", OCT)
    assert rate_under(item.terms, outcomes, OCT) == current
    usage = next(x for x in rate_under(alternative, outcomes, OCT).lines if x.type is LineType.USAGE)
    assert (usage.quantity, usage.amount) == (D(7), D("12.00"))  # 3 x 2.00 + 4 x 1.50
