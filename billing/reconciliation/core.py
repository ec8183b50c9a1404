"""Reconciliation of an issued period against today's data. Pure.

An invoice is rated on the data known when it was issued. Data keeps arriving: late
interactions, contacts that disqualify a billed resolution, workforce hours, and the
client's own KPI figures. The service layer re-rates the same period under the same terms
version three times, each step adding one kind of new data, so every difference has a
measured cause instead of a guessed one:

1. ``as_of_issue``: the period's rows as they stood at the invoice's data watermark;
2. ``repeats_known``: the same rows, with the repeat-contact rule judged on all data now
   (a contact imported after issue disqualifies a billed resolution);
3. ``now``: every row of the period, late arrivals included.

The differences invoice -> 1 -> 2 -> 3 are the causes; the FTE check and the client's
figures add their own. What is still open is what is due now minus what was billed net of
the notes already written against the invoice, so nothing is ever settled twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from billing.contracts.terms import ContractTerms, FteCharge, KpiMetric
from billing.core.money import EXACT, format_decimal_string, percent_of, round_amount
from billing.rating.credits import cap_credits
from billing.rating.lines import LineType, RatedInvoice, RatedLine, ServiceLevelResult

ZERO = Decimal(0)
LineKey = tuple[str, str]  # (charge, line type)


class Cause(StrEnum):
    RATING_CHANGED = "rating_changed"  # re-rating the issue-time data does not give the invoice
    REPEAT_CONTACT_AFTER_ISSUE = "repeat_contact_after_issue"
    LATE_INTERACTIONS = "late_interactions"
    LATE_WORKFORCE_HOURS = "late_workforce_hours"
    EXCUSAL_CHANGE = "excusal_change"
    HOURS_SHORT = "hours_short"
    CLIENT_FIGURE_DIFFERS = "client_figure_differs"


class Severity(StrEnum):
    WITHIN_TOLERANCE = "within_tolerance"
    MATERIAL = "material"


@dataclass(frozen=True, slots=True)
class BilledLine:
    charge: str
    type: str
    quantity: Decimal
    amount: Decimal
    description: str = ""

    @property
    def key(self) -> LineKey:
        return (self.charge, self.type)


@dataclass(frozen=True, slots=True)
class BilledLevel:
    id: str
    value: Decimal | None
    met: bool | None
    credit: Decimal
    excused: bool = False


@dataclass(frozen=True, slots=True)
class BilledInvoice:
    """An issued invoice as stored: what the client was charged, and on which data."""

    id: int
    number: str
    subtotal: Decimal
    lines: tuple[BilledLine, ...]
    service_levels: tuple[BilledLevel, ...] = ()
    data_as_of: int | None = None


@dataclass(frozen=True, slots=True)
class NoteLine:
    """A line of a credit or debit note written against the invoice, signed as its effect on
    what the client owes (a credit is negative)."""

    document_id: int
    status: str
    charge: str
    type: str
    quantity: Decimal
    amount: Decimal

    @property
    def key(self) -> LineKey:
        return (self.charge, self.type)


@dataclass(frozen=True, slots=True)
class Rerated:
    """The three re-ratings of the period (see the module docstring)."""

    as_of_issue: RatedInvoice
    repeats_known: RatedInvoice
    now: RatedInvoice
    productive_hours: Decimal = ZERO
    #: The newest import batch the ``now`` measurement saw.
    data_as_of: int | None = None


@dataclass(frozen=True, slots=True)
class Discrepancy:
    cause: Cause
    charge: str
    type: str
    quantity: Decimal
    amount: Decimal
    severity: Severity
    #: Whether a note settles it; a client's figure is a claim to discuss, not a correction.
    settles: bool = True
    note: str = ""

    def as_json(self, minor_units: int) -> dict[str, Any]:
        return {
            "cause": self.cause.value,
            "charge": self.charge,
            "type": self.type,
            "quantity": _num(self.quantity),
            "amount": _money(self.amount, minor_units),
            "severity": self.severity.value,
            "settles": self.settles,
            "note": self.note,
        }


@dataclass(frozen=True, slots=True)
class LineComparison:
    charge: str
    type: str
    description: str
    billed_quantity: Decimal
    billed_amount: Decimal
    adjusted_amount: Decimal  # sum of the notes' lines already written against it
    remeasured_quantity: Decimal
    remeasured_amount: Decimal
    due_amount: Decimal  # remeasured, plus the FTE hours adjustment
    open_difference: Decimal  # due - (billed + adjusted)

    def as_json(self, minor_units: int) -> dict[str, Any]:
        return {
            "charge": self.charge,
            "type": self.type,
            "description": self.description,
            "billed_quantity": _num(self.billed_quantity),
            "billed_amount": _money(self.billed_amount, minor_units),
            "adjusted_amount": _money(self.adjusted_amount, minor_units),
            "remeasured_quantity": _num(self.remeasured_quantity),
            "remeasured_amount": _money(self.remeasured_amount, minor_units),
            "due_amount": _money(self.due_amount, minor_units),
            "open_difference": _money(self.open_difference, minor_units),
        }


@dataclass(frozen=True, slots=True)
class LevelComparison:
    id: str
    metric: str
    billed_value: Decimal | None
    billed_met: bool | None
    billed_credit: Decimal
    billed_excused: bool
    value: Decimal | None
    met: bool | None
    credit_due: Decimal
    excused: bool

    def as_json(self, minor_units: int) -> dict[str, Any]:
        return {
            "id": self.id,
            "metric": self.metric,
            "billed_value": _kpi(self.billed_value),
            "billed_met": self.billed_met,
            "billed_credit": _money(self.billed_credit, minor_units),
            "billed_excused": self.billed_excused,
            "value": _kpi(self.value),
            "met": self.met,
            "credit_due": _money(self.credit_due, minor_units),
            "excused": self.excused,
            "difference": _money(self.credit_due - self.billed_credit, minor_units),
        }


@dataclass(frozen=True, slots=True)
class FteComparison:
    charge: str
    billed_fte: Decimal
    hours_per_fte: Decimal
    productive_hours: Decimal
    delivered_fte: Decimal
    difference_fte: Decimal  # delivered - billed (negative: hours short)
    rate: Decimal
    difference_amount: Decimal  # money of the shortfall, rounded; 0 when not short
    note: str = ""

    def as_json(self, minor_units: int) -> dict[str, Any]:
        return {
            "charge": self.charge,
            "billed_fte": _num(self.billed_fte),
            "hours_per_fte": _num(self.hours_per_fte),
            "productive_hours": _num(self.productive_hours),
            "delivered_fte": _num(self.delivered_fte),
            "difference_fte": _num(self.difference_fte),
            "rate": _num(self.rate),
            "difference_amount": _money(self.difference_amount, minor_units),
            "note": self.note,
        }


@dataclass(frozen=True, slots=True)
class ClientFigure:
    metric: str
    level: str | None
    ours: Decimal | None
    theirs: Decimal
    gap: Decimal | None  # theirs - ours
    met_ours: bool | None
    met_theirs: bool | None
    flips: bool
    credit_difference: Decimal  # credit their figure implies minus the credit due on ours

    def as_json(self, minor_units: int) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "level": self.level,
            "ours": _kpi(self.ours),
            "theirs": _kpi(self.theirs),
            "gap": _kpi(self.gap),
            "met_ours": self.met_ours,
            "met_theirs": self.met_theirs,
            "flips": self.flips,
            "credit_difference": _money(self.credit_difference, minor_units),
        }


@dataclass(frozen=True, slots=True)
class ReconciliationResult:
    contract: str
    period: str
    currency: str
    minor_units: int
    invoice_id: int
    invoice_number: str
    invoice_data_as_of: int | None
    data_as_of: int | None
    tolerance_percent: Decimal
    tolerance_amount: Decimal
    lines: tuple[LineComparison, ...]
    service_levels: tuple[LevelComparison, ...]
    fte: tuple[FteComparison, ...]
    client_figures: tuple[ClientFigure, ...]
    discrepancies: tuple[Discrepancy, ...]
    already_adjusted: Decimal
    net_difference: Decimal  # still open, before tax
    proposal: NoteProposal | None = None
    unmatched_adjustments: Decimal = ZERO

    @property
    def within_tolerance(self) -> bool:
        return abs(self.net_difference) <= self.tolerance_amount

    def as_json(self) -> dict[str, Any]:
        mu = self.minor_units
        return {
            "contract": self.contract,
            "period": self.period,
            "currency": self.currency,
            "invoice": {"id": self.invoice_id, "number": self.invoice_number, "data_as_of": self.invoice_data_as_of},
            "data_as_of": self.data_as_of,
            "tolerance_percent": _num(self.tolerance_percent),
            "tolerance_amount": _money(self.tolerance_amount, mu),
            "lines": [line.as_json(mu) for line in self.lines],
            "service_levels": [level.as_json(mu) for level in self.service_levels],
            "fte": [item.as_json(mu) for item in self.fte],
            "client_figures": [item.as_json(mu) for item in self.client_figures],
            "discrepancies": [item.as_json(mu) for item in self.discrepancies],
            "already_adjusted": _money(self.already_adjusted, mu),
            "unmatched_adjustments": _money(self.unmatched_adjustments, mu),
            "net_difference": _money(self.net_difference, mu),
            "within_tolerance": self.within_tolerance,
            "proposal": None if self.proposal is None else self.proposal.as_json(mu),
        }


ADJUSTMENT_CHARGE = "adjustment"


@dataclass(frozen=True, slots=True)
class NoteLineProposal:
    charge: str
    description: str
    amount: Decimal  # positive: the note's own amount (a credit note credits it)
    #: (charge, line type, signed difference) of each invoice line this note line settles.
    settles: tuple[tuple[str, str, Decimal], ...] = ()

    def settles_json(self, minor_units: int) -> list[dict[str, str]]:
        return [{"charge": c, "type": t, "amount": _money(a, minor_units)} for c, t, a in self.settles]


@dataclass(frozen=True, slots=True)
class NoteProposal:
    kind: str  # "credit_note" | "debit_note"
    lines: tuple[NoteLineProposal, ...]
    reason: str
    causes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def amount(self) -> Decimal:
        return sum((line.amount for line in self.lines), ZERO)

    def as_json(self, minor_units: int) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "amount": _money(self.amount, minor_units),
            "reason": self.reason,
            "causes": list(self.causes),
            "lines": [
                {
                    "charge": line.charge,
                    "description": line.description,
                    "amount": _money(line.amount, minor_units),
                    "settles": line.settles_json(minor_units),
                }
                for line in self.lines
            ],
        }


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
                    note=f"{_num(item.productive_hours)} productive hours = {_num(item.delivered_fte)} FTE "
                    f"at {_num(item.hours_per_fte)} h; billed {_num(item.billed_fte)} FTE",
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
                        f"client reports {_kpi(figure.theirs)} against our {_kpi(figure.ours)}"
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


def propose(result: ReconciliationResult) -> NoteProposal | None:
    """The one note that settles what is still open: a debit note when the client owes more,
    a credit note when less; nothing when the open difference is within tolerance.

    Note lines are positive and name an invoice charge. Open differences against the note's
    direction (a service credit that grows when a late resolution raises the at-risk amount)
    are netted into the largest line; each line lists the signed differences it settles."""
    if result.net_difference == 0 or result.within_tolerance:
        return None
    sign = Decimal(1) if result.net_difference > 0 else Decimal(-1)
    groups: dict[str, list[LineComparison]] = {}
    against: list[LineComparison] = []
    for line in result.lines:
        if line.open_difference * sign > 0:
            groups.setdefault(line.charge, []).append(line)
        elif line.open_difference != 0:
            against.append(line)
    drafts = [(charge, members) for charge, members in groups.items()]
    drafts.sort(key=lambda item: -sum(m.open_difference * sign for m in item[1]))
    if against:
        largest = sum(m.open_difference * sign for m in drafts[0][1])
        if largest + sum(m.open_difference * sign for m in against) > 0:
            drafts[0] = (drafts[0][0], [*drafts[0][1], *against])
        else:  # the opposite differences outweigh any single line: one line for the whole net
            drafts = [(ADJUSTMENT_CHARGE, [line for line in result.lines if line.open_difference != 0])]
    lines = tuple(
        NoteLineProposal(
            charge=charge,
            description=_note_description(members, result.period),
            amount=sum((m.open_difference * sign for m in members), ZERO),
            settles=tuple((m.charge, m.type, m.open_difference) for m in members),
        )
        for charge, members in drafts
    )
    causes = tuple(dict.fromkeys(d.cause.value for d in result.discrepancies if d.settles))
    reason = (
        f"Reconciliation of {result.invoice_number} ({result.period}) with data up to import batch "
        f"{result.data_as_of}: " + ", ".join(causes)
    )
    return NoteProposal("debit_note" if sign > 0 else "credit_note", lines, reason, causes)


def _note_description(members: list[LineComparison], period: str) -> str:
    names = ", ".join(dict.fromkeys(m.description or m.charge for m in members))
    return f"Reconciliation {period}: {names}"[:500]


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


def _money(value: Decimal, minor_units: int) -> str:
    return format_decimal_string(value, minor_units)


def _kpi(value: Decimal | None) -> str | None:
    return None if value is None else format_decimal_string(value, 2)


def _num(value: Decimal) -> str:
    normalized = value.normalize()
    if normalized == normalized.to_integral_value():
        return str(normalized.quantize(Decimal(1)))
    return format(normalized.quantize(Decimal("0.000001")).normalize(), "f")
