"""The comparison: an issued invoice (net of its notes) against the period re-rated three ways,
each difference attributed to its cause. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

from billing.contracts.terms import ContractTerms, FteCharge, KpiMetric
from billing.core.money import EXACT, percent_of, round_amount
from billing.rating.credits import cap_credits
from billing.rating.lines import LineType, RatedInvoice, RatedLine, ServiceLevelResult
from billing.reconciliation.results import (
    ZERO,
    BilledInvoice,
    BilledLevel,
    BilledLine,
    Cause,
    ClientFigure,
    Discrepancy,
    FteComparison,
    LevelComparison,
    LineComparison,
    LineKey,
    NoteLine,
    ReconciliationResult,
    Rerated,
    Severity,
    kpi_text,
    num,
)

# -- the comparison ------------------------------------------------------------------------


def reconcile(
    terms: ContractTerms,
    invoice: BilledInvoice,
    notes: Sequence[NoteLine],
    rerated: Rerated,
    client_figures: Mapping[str, Decimal] | None = None,
) -> ReconciliationResult:
    """Compare an issued invoice (net of its notes) with the period re-rated on today's data."""
    minor_units = terms.currency.minor_units
    tolerance = round_amount(percent_of(abs(invoice.subtotal), terms.reconciliation.tolerance_percent), minor_units)
    fte = tuple(_fte_comparisons(terms, invoice, rerated.productive_hours, minor_units))
    hours_adjustment = {(item.charge, LineType.FTE.value): item.difference_amount for item in fte}

    steps = (
        _by_key(invoice.lines),
        _rated_by_key(rerated.as_of_issue),
        _rated_by_key(rerated.repeats_known),
        _rated_by_key(rerated.now),
    )
    excused = (
        any(level.excused for level in invoice.service_levels),
        _excused(rerated.as_of_issue),
        _excused(rerated.repeats_known),
        _excused(rerated.now),
    )
    adjusted: dict[LineKey, Decimal] = {}
    for note in notes:
        adjusted[note.key] = adjusted.get(note.key, ZERO) + note.amount
    keys = _ordered_keys(invoice.lines, rerated.as_of_issue, rerated.repeats_known, rerated.now)
    unmatched = sum((amount for key, amount in adjusted.items() if key not in keys), ZERO)

    def severity(amount: Decimal) -> Severity:
        return Severity.WITHIN_TOLERANCE if abs(amount) <= tolerance else Severity.MATERIAL

    discrepancies: list[Discrepancy] = []
    lines: list[LineComparison] = []
    for key in keys:
        charge, line_type = key
        for index, cause in enumerate(
            (Cause.RATING_CHANGED, Cause.REPEAT_CONTACT_AFTER_ISSUE, Cause.LATE_INTERACTIONS), start=1
        ):
            before, after = steps[index - 1].get(key), steps[index].get(key)
            quantity = _quantity(after) - _quantity(before)
            amount = _amount(after) - _amount(before)
            if quantity == 0 and amount == 0:
                continue
            if line_type in (LineType.SERVICE_CREDIT, LineType.EARNBACK) and excused[index - 1] != excused[index]:
                cause = Cause.EXCUSAL_CHANGE
            elif cause is Cause.LATE_INTERACTIONS and line_type == LineType.HOURLY:
                cause = Cause.LATE_WORKFORCE_HOURS
            discrepancies.append(Discrepancy(cause, charge, line_type, quantity, amount, severity(amount)))
        hours = hours_adjustment.get(key, ZERO)
        if hours:
            item = next(f for f in fte if f.charge == charge)
            discrepancies.append(
                Discrepancy(
                    Cause.HOURS_SHORT,
                    charge,
                    line_type,
                    item.difference_fte,
                    hours,
                    severity(hours),
                    note=f"{num(item.productive_hours)} productive hours = {num(item.delivered_fte)} FTE "
                    f"at {num(item.hours_per_fte)} h; billed {num(item.billed_fte)} FTE",
                )
            )
        billed, now = steps[0].get(key), steps[3].get(key)
        due = _amount(now) + hours
        lines.append(
            LineComparison(
                charge=charge,
                type=line_type,
                description=_description(billed, now),
                billed_quantity=_quantity(billed),
                billed_amount=_amount(billed),
                adjusted_amount=adjusted.get(key, ZERO),
                remeasured_quantity=_quantity(now),
                remeasured_amount=_amount(now),
                due_amount=due,
                open_difference=due - _amount(billed) - adjusted.get(key, ZERO),
            )
        )

    figures = tuple(_client_figures(terms, rerated.now, client_figures or {}, minor_units))
    for figure in figures:
        if figure.flips or figure.gap:
            relative = EXACT.divide(abs(figure.gap) * 100, abs(figure.ours)) if figure.gap and figure.ours else ZERO
            material = figure.flips or relative > terms.reconciliation.tolerance_percent
            discrepancies.append(
                Discrepancy(
                    Cause.CLIENT_FIGURE_DIFFERS,
                    figure.level or figure.metric,
                    LineType.SERVICE_CREDIT.value if figure.level else "kpi",
                    figure.gap or ZERO,
                    figure.credit_difference,
                    Severity.MATERIAL if material else Severity.WITHIN_TOLERANCE,
                    settles=False,
                    note=(
                        f"client reports {kpi_text(figure.theirs)} against our {kpi_text(figure.ours)}"
                        + ("; their figure flips the level" if figure.flips else "")
                    ),
                )
            )

    net = sum((line.open_difference for line in lines), ZERO)
    return ReconciliationResult(
        contract=terms.code,
        period=str(rerated.now.period),
        currency=terms.currency.code,
        minor_units=minor_units,
        invoice_id=invoice.id,
        invoice_number=invoice.number,
        invoice_data_as_of=invoice.data_as_of,
        data_as_of=rerated.data_as_of,
        tolerance_percent=terms.reconciliation.tolerance_percent,
        tolerance_amount=tolerance,
        lines=tuple(lines),
        service_levels=tuple(_level_comparisons(invoice.service_levels, rerated.now.service_levels)),
        fte=fte,
        client_figures=figures,
        discrepancies=tuple(discrepancies),
        already_adjusted=sum(adjusted.values(), ZERO),
        net_difference=net,
        unmatched_adjustments=unmatched,
    )


# -- pieces ----------------------------------------------------------------------------------


def _fte_comparisons(
    terms: ContractTerms, invoice: BilledInvoice, productive_hours: Decimal, minor_units: int
) -> list[FteComparison]:
    """FTE-months billed against productive hours delivered. Hours are per contract: with
    several FTE charges they are shared in proportion to the FTE billed on each."""
    charges = [c for c in terms.charges if isinstance(c, FteCharge)]
    billed = {line.charge: line.quantity for line in invoice.lines if line.type == LineType.FTE}
    total_billed = sum((billed.get(c.id, ZERO) for c in charges), ZERO)
    out = []
    for charge in charges:
        billed_fte = billed.get(charge.id, ZERO)
        if billed_fte == 0:
            continue
        hours = EXACT.divide(EXACT.multiply(productive_hours, billed_fte), total_billed)
        delivered = EXACT.divide(hours, charge.hours_per_fte)
        difference = delivered - billed_fte
        note = ""
        if productive_hours == 0:  # no workforce feed: nothing delivered is not the same as unknown
            money, note = ZERO, "no workforce hours imported for the period: nothing to compare"
        elif difference < 0:
            money = round_amount(EXACT.multiply(difference, charge.rate), minor_units, terms.rounding)
        else:
            money = ZERO
        out.append(
            FteComparison(
                charge.id, billed_fte, charge.hours_per_fte, hours, delivered, difference, charge.rate, money, note
            )
        )
    return out


def _level_comparisons(billed: Sequence[BilledLevel], now: Sequence[ServiceLevelResult]) -> list[LevelComparison]:
    billed_by_id = {level.id: level for level in billed}
    out = []
    for level in now:
        was = billed_by_id.get(level.id)
        out.append(
            LevelComparison(
                id=level.id,
                metric=level.metric,
                billed_value=was.value if was else None,
                billed_met=was.met if was else None,
                billed_credit=was.credit if was else ZERO,
                billed_excused=was.excused if was else False,
                value=level.value,
                met=level.met,
                credit_due=level.credit,
                excused=level.excused,
            )
        )
    return out


def _client_figures(
    terms: ContractTerms, now: RatedInvoice, figures: Mapping[str, Decimal], minor_units: int
) -> list[ClientFigure]:
    """The client's figure for each metric against ours; when it names a service level (by id
    or by metric), whether it flips the level and the credit it would imply."""
    levels = {level.id: level for level in (terms.service_levels.levels if terms.service_levels else ())}
    results = {result.id: result for result in now.service_levels}
    out = []
    for metric, theirs in sorted(figures.items()):
        level = levels.get(metric) or next((lv for lv in levels.values() if lv.metric.value == metric), None)
        result = results.get(level.id) if level else None
        if level is None or result is None:
            ours = _kpi_value(now, metric)
            gap = None if ours is None else theirs - ours
            out.append(ClientFigure(metric, None, ours, theirs, gap, None, None, False, ZERO))
            continue
        met_theirs = None if result.met is None else _met(level.metric, theirs, level.target)
        flips = met_theirs is not None and met_theirs != result.met
        credit_ours = sum((r.credit for r in now.service_levels), ZERO)
        credit_theirs = _credits_with(now, level.id, met_theirs, terms) if flips else credit_ours
        gap = None if result.value is None else theirs - result.value
        out.append(
            ClientFigure(
                metric,
                level.id,
                result.value,
                theirs,
                gap,
                result.met,
                met_theirs,
                flips,
                credit_theirs - credit_ours,
            )
        )
    return out


def _credits_with(now: RatedInvoice, level_id: str, met: bool | None, terms: ContractTerms) -> Decimal:
    """All the period's credits (negative) if one level's verdict were ``met``, the others as
    measured, cut to the at-risk amount the way rating cuts them (``cap_credits``)."""
    at_risk = now.at_risk_amount or ZERO
    full = []
    for result in now.service_levels:
        missed = (met is False) if result.id == level_id else result.met is False
        amount = percent_of(at_risk, result.allocation_percent)
        full.append(
            round_amount(amount, terms.currency.minor_units, terms.rounding) if missed and not result.excused else ZERO
        )
    return -sum(cap_credits(full, at_risk), ZERO)


def _met(metric: KpiMetric, value: Decimal, target: Decimal) -> bool:
    return value >= target if metric.higher_is_better else value <= target


def _kpi_value(rated: RatedInvoice, metric: str) -> Decimal | None:
    value = rated.kpis.get(metric) if isinstance(rated.kpis, dict) else None
    if value is None or isinstance(value, dict):
        return None
    try:
        return Decimal(str(value))
    except ArithmeticError:
        return None


def _excused(rated: RatedInvoice) -> bool:
    return any(level.excused for level in rated.service_levels)


def _by_key(lines: Sequence[BilledLine]) -> dict[LineKey, BilledLine | RatedLine]:
    return {line.key: line for line in lines}


def _rated_by_key(rated: RatedInvoice) -> dict[LineKey, BilledLine | RatedLine]:
    return {(line.charge, line.type.value): line for line in rated.lines}


def _ordered_keys(billed: Sequence[BilledLine], *rated: RatedInvoice) -> list[LineKey]:
    """The invoice's lines in order, then any line a re-rating adds (a new credit, a true-up)."""
    keys = dict.fromkeys(line.key for line in billed)
    for invoice in rated:
        for line in invoice.lines:
            keys.setdefault((line.charge, line.type.value))
    return list(keys)


def _quantity(line: BilledLine | RatedLine | None) -> Decimal:
    return ZERO if line is None else line.quantity


def _amount(line: BilledLine | RatedLine | None) -> Decimal:
    return ZERO if line is None else line.amount


def _description(*lines: BilledLine | RatedLine | None) -> str:
    for line in lines:
        if line is not None and line.description:
            return line.description
    return ""
