"""Trace agrees with the measurement (issue 15, item 2): on random contacts of random customers
over a period with a daylight-saving change (New York, November 2026), imported in two batches,
the contacts ``billing.measurement.trace`` counts add up to what ``measure`` gives, as of either
batch, for every usage metric and service-level metric, under random filters, repeat windows
and escalation rules, on both engines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete
from sqlmodel import select

from billing.contracts.terms import Filter, KpiMetric, ServiceLevelFormula, UsageMetric
from billing.core.money import EXACT
from billing.core.periods import Period
from billing.measurement import ingest
from billing.measurement.kpis import metric_value, totals, usage_quantity
from billing.measurement.queries import MeasureRequest, measure
from billing.measurement.trace import Question, TraceScope
from billing.measurement.trace import totals as traced
from billing.storage.db import reading, transaction
from billing.storage.models import Contract, ImportBatch, Interaction, OutcomeDay
from tests.outcome_helpers import HEADER, load_contract

PERIOD = Period(2026, 11)
ZONE = "America/New_York"
START = datetime(2026, 10, 25, tzinfo=UTC)

contact = st.tuples(
    st.integers(0, 45 * 24 * 60),  # minutes after START: before, in and after November
    st.sampled_from(["voice", "chat", "email"]),
    st.sampled_from(["human", "ai"]),
    st.one_of(st.none(), st.integers(0, 14).map(lambda n: f"cust{n}")),  # some come back within days
    st.integers(0, 90),  # wait
    st.sampled_from([False, False, False, True]),  # abandoned
    st.sampled_from([True, True, False]),  # resolved
    st.sampled_from([False, False, True]),  # escalated
    st.one_of(st.none(), st.integers(1, 5)),
    st.one_of(st.none(), st.integers(0, 10)),
    st.one_of(st.none(), st.integers(0, 100)),
)


def _file(tmp_path, name: str, rows: list[tuple], first: int):
    lines = [HEADER]
    for n, (minutes, channel, by, customer, wait, abandoned, resolved, escalated, csat, nps, qa) in enumerate(rows):
        at = (START + timedelta(minutes=minutes)).isoformat()
        handle = "" if abandoned else str(60 + n)
        lines.append(
            f"t{first + n},ACME-1,{channel},{customer or ''},{at},{wait},{str(abandoned).lower()},{handle},{by},"
            f"{str(resolved).lower()},{str(escalated).lower()},{csat or ''},{'' if nps is None else nps},"
            f"{'' if qa is None else qa}"
        )
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def _reset(engine) -> None:
    with transaction(engine) as session:
        for table in (Interaction, OutcomeDay, ImportBatch):
            session.execute(delete(table))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(contact, min_size=30, max_size=80),
    split=st.integers(0, 80),
    window=st.sampled_from([1, 3, 7]),
    exclude_escalated=st.booleans(),
    channels=st.sampled_from([None, None, ("voice",), ("chat", "email")]),
    handlers=st.sampled_from([None, None, ("ai",), ("human",)]),
    threshold=st.sampled_from([0, 20, 45]),
    formula=st.sampled_from(list(ServiceLevelFormula)),
)
def test_traced_contacts_add_up_to_the_measurement(
    db, tmp_path, rows, split, window, exclude_escalated, channels, handlers, threshold, formula
):
    with reading(db) as s:
        loaded = s.exec(select(Contract)).first() is not None
    if not loaded:
        load_contract(db, tmp_path, timezone=ZONE)
    _reset(db)
    first = ingest.import_interactions(db, _file(tmp_path, "first.csv", rows[:split], 0))
    second = ingest.import_interactions(db, _file(tmp_path, "second.csv", rows[split:], 1000))
    assert first.rejected == second.rejected == 0, (first.errors, second.errors)
    flt = Filter(channels, handlers)
    with reading(db) as session:
        contract_id = session.exec(select(Contract)).one().id
        for batch in (first.batch, second.batch):
            request = MeasureRequest(contract_id, "ACME-1", PERIOD, ZONE, window, exclude_escalated, (threshold,))
            outcomes = measure(session, [request], as_of_batch=batch)[(contract_id, PERIOD)]
            t = totals(outcomes, flt, threshold)
            scope = TraceScope(contract_id, PERIOD, ZONE, window, exclude_escalated, batch, flt)
            for metric in UsageMetric:
                found = traced(session, scope, Question(usage=metric))
                got = Decimal(found["counted"])
                if metric is UsageMetric.HANDLED_MINUTES:
                    got = EXACT.divide(Decimal(found["amount"]), Decimal(60))
                assert got == usage_quantity(t, metric), (metric, batch)
            for level in KpiMetric:
                question = Question(level=level, threshold_seconds=threshold, formula=formula)
                found = traced(session, scope, question)
                value, sample = metric_value(t, level, formula)
                assert found["counted"] == sample, (level, formula)
                assert _value(level, found) == value, (level, formula)


def _value(level: KpiMetric, found: dict) -> Decimal | None:
    sample = int(found["counted"])
    if not sample:
        return None
    hundred = Decimal(100)
    if level in (KpiMetric.ASA_SECONDS, KpiMetric.AHT_SECONDS, KpiMetric.QA_SCORE):
        return EXACT.divide(Decimal(found["amount"]), Decimal(sample))
    top = Decimal(found["amount"]) if level is KpiMetric.NPS else Decimal(found["numerator"])
    return EXACT.divide(EXACT.multiply(top, hundred), Decimal(sample))
