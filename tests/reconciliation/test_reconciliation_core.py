"""The pure part of reconciliation: which note settles a mix of open differences."""

from __future__ import annotations

from decimal import Decimal as D

from billing.reconciliation.propose import propose
from billing.reconciliation.results import LineComparison, ReconciliationResult


def open_line(charge: str, line_type: str, open_difference: str) -> LineComparison:
    amount = D(open_difference)
    return LineComparison(charge, line_type, charge.title(), D(0), D(0), D(0), D(0), amount, amount, amount)


def result(*lines: LineComparison, tolerance: str = "0.50") -> ReconciliationResult:
    return ReconciliationResult(
        contract="C-1",
        period="2026-10",
        currency="USD",
        minor_units=2,
        invoice_id=1,
        invoice_number="F-1",
        invoice_data_as_of=1,
        data_as_of=2,
        tolerance_percent=D("0.5"),
        tolerance_amount=D(tolerance),
        lines=lines,
        service_levels=(),
        fte=(),
        client_figures=(),
        discrepancies=(),
        already_adjusted=D(0),
        net_difference=sum((line.open_difference for line in lines), D(0)),
    )


def test_one_line_per_charge_in_the_note_direction() -> None:
    proposal = propose(result(open_line("human", "usage", "-30.00"), open_line("ai", "usage", "-12.00")))

    assert proposal is not None and proposal.kind == "credit_note"
    assert [(line.charge, line.amount) for line in proposal.lines] == [("human", D("30.00")), ("ai", D("12.00"))]


def test_differences_against_the_note_net_into_the_largest_line() -> None:
    proposal = propose(
        result(
            open_line("human", "usage", "-30.00"),
            open_line("ai", "usage", "-12.00"),
            open_line("speed", "service_credit", "3.00"),
        )
    )

    assert proposal is not None and proposal.amount == D("39.00")
    assert [(line.charge, line.amount) for line in proposal.lines] == [("human", D("27.00")), ("ai", D("12.00"))]
    assert proposal.lines[0].settles == (("human", "usage", D("-30.00")), ("speed", "service_credit", D("3.00")))


def test_when_no_single_line_can_absorb_them_one_adjustment_settles_the_net() -> None:
    proposal = propose(
        result(
            open_line("human", "usage", "-10.00"),
            open_line("ai", "usage", "-10.00"),
            open_line("speed", "service_credit", "15.00"),
        )
    )

    assert proposal is not None and proposal.kind == "credit_note"
    (line,) = proposal.lines
    assert (line.charge, line.amount, len(line.settles)) == ("adjustment", D("5.00"), 3)


def test_nothing_is_proposed_within_tolerance() -> None:
    assert propose(result(open_line("human", "usage", "0.40"))) is None
    assert propose(result(open_line("human", "usage", "0.60"))) is not None
