"""Small builders for outcome tests: a contract written inline, interactions as CSV text."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from billing.contracts.store import terms_in_force
from billing.core.periods import Period
from billing.measurement.contracts import load_contracts
from billing.measurement.kpis import PeriodOutcomes
from billing.measurement.queries import MeasureRequest, measure
from billing.storage.db import reading

HEADER = (
    "interaction_id,contract,channel,customer_id,started_at,wait_seconds,abandoned,"
    "handle_seconds,handled_by,resolved,escalated,csat,nps,qa_score"
)


def contract_file(
    tmp_path: Path,
    code: str = "ACME-1",
    timezone: str = "America/New_York",
    window: int = 7,
    exclude_escalated: bool = True,
    thresholds: tuple[int, ...] = (),
    effective_from: str | None = None,
) -> Path:
    """A contract file with a fixed fee and one service level per threshold (``answer-N``);
    with ``effective_from``, an amendment of it."""
    levels = "".join(
        f'\n    - {{id: answer-{t}, metric: service_level, threshold_seconds: {t}, target: "80", '
        'allocation_percent: "10"}'
        for t in thresholds
    )
    service_levels = f'\nservice_levels:\n  at_risk_percent: "10"\n  levels:{levels}' if thresholds else ""
    amendment = f"\neffective_from: {effective_from}" if effective_from else ""
    path = tmp_path / (f"{code}-{effective_from}.yaml" if effective_from else f"{code}.yaml")
    path.write_text(
        f"""contract: {code}{amendment}
client: {{id: {code.lower()}-client, name: "{code} Client", locale: en_US}}
currency: USD
timezone: {timezone}
start: 2026-01-01
invoicing: {{series: {code[:3]}, credit_note_series: {code[:3]}C, payment_terms_days: 30}}
resolution: {{repeat_window_days: {window}, exclude_escalated: {str(exclude_escalated).lower()}}}
charges:
  - {{id: platform, type: fixed, amount: "100.00"}}{service_levels}
"""
    )
    return path


def load_contract(
    engine: Engine,
    tmp_path: Path,
    code: str = "ACME-1",
    timezone: str = "America/New_York",
    repeat_window_days: int = 7,
    exclude_escalated: bool = True,
) -> None:
    load_contracts(engine, [contract_file(tmp_path, code, timezone, repeat_window_days, exclude_escalated)])


def csv_file(tmp_path: Path, body: str, name: str = "interactions.csv", header: str = HEADER) -> Path:
    path = tmp_path / name
    lines = [line.strip() for line in body.strip().splitlines()]
    path.write_text(header + "\n" + "\n".join(lines) + "\n")
    return path


def outcomes_of(
    engine: Engine,
    code: str,
    period: str,
    thresholds: tuple[int, ...] = (20,),
    as_of_batch: int | None = None,
    from_rows: bool = False,
) -> PeriodOutcomes:
    month = Period.parse(period)
    with reading(engine) as session:
        current = terms_in_force(session, code, month)
        rule = current.terms.resolution
        request = MeasureRequest(
            current.contract_id,
            code,
            month,
            current.terms.timezone,
            rule.repeat_window_days,
            rule.exclude_escalated,
            thresholds,
        )
        return measure(session, [request], as_of_batch, from_rows)[(current.contract_id, month)]


def next_contact_errors(engine: Engine) -> int:
    """Rows whose stored ``next_contact_at`` differs from a full recomputation: the start of the
    same (contract, customer)'s next contact in (started_at, id) order, NULL without a customer."""
    from sqlalchemy import text
    from sqlmodel import Session

    with Session(engine) as session:
        return int(
            session.execute(
                text(
                    """SELECT count(*) FROM (
                        SELECT next_contact_at, CASE WHEN customer_id IS NULL THEN NULL ELSE
                               LEAD(started_at) OVER (PARTITION BY contract_id, customer_id ORDER BY started_at, id)
                               END AS expected
                        FROM interaction) x
                    WHERE (next_contact_at IS NULL) <> (expected IS NULL) OR next_contact_at <> expected"""
                )
            ).scalar_one()
        )


def rollup_state(engine: Engine) -> tuple[list[object], list[tuple[object, ...]]]:
    """(differences of the daily rollup from a recount of the interactions, the stored days)."""
    from sqlalchemy import text

    from billing.measurement.rollup import verify
    from billing.storage.db import transaction

    with transaction(engine) as session:
        found: list[object] = list(verify(session))
        days = [tuple(row) for row in session.execute(text("SELECT * FROM outcome_day ORDER BY 1, 2, 3, 4"))]
    return found, days


def pseudonym(contract: str, customer: str) -> str:
    """The pseudonym the importer stores for a customer id (under the tests' key)."""
    import os

    from billing.measurement.pseudonyms import Pseudonymizer

    return Pseudonymizer(os.environ["BILLING_PSEUDONYM_KEY"].encode()).of(contract, customer)


def opened(row: Any) -> Any:
    """A kept rejected row with a sealed ``raw`` opened (under the tests' key) into the text and
    format it was sealed from; other rows unchanged. The row is detached and may be changed."""
    import os

    from billing.measurement.ingest.private import is_sealed, unseal
    from billing.measurement.pseudonyms import Pseudonymizer

    if is_sealed(row.raw_format):
        row.raw, row.raw_format = unseal(Pseudonymizer(os.environ["BILLING_PSEUDONYM_KEY"].encode()), row.raw)
    return row


def kept_forms(bad: bytes, header: str | None) -> set[bytes]:
    """The bytes a bad interaction row may give back from its rejection: as read (a row that
    was sealed, or holds no customer id), or, when it was read into values, as read with its
    customer id pseudonymised (``billing.measurement.ingest.private``)."""
    from billing.measurement.ingest.private import _fields, with_pseudonym

    forms = {bad}
    try:
        text = bad.decode("utf-8")
    except UnicodeDecodeError:
        return forms
    file_format = "csv" if header is not None else "jsonl"
    fields = _fields(file_format, header, text)
    if fields and fields.get("customer_id"):
        customer = fields["customer_id"]
        written = with_pseudonym(file_format, header, text, customer, pseudonym(fields.get("contract", ""), customer))
        if written is not None:
            forms.add(written.encode("utf-8", "surrogateescape"))
    return forms
