"""Sensitivity: the measured outcomes scaled, to replay every scenario under more or less
volume. Pure."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from billing.core.money import EXACT
from billing.core.periods import Period
from billing.measurement.kpis import OutcomeCell, PeriodOutcomes

_VOLUME_FIELDS = (
    "offered",
    "abandoned",
    "answered_wait_sum",
    "handle_sum",
    "resolutions",
    "csat_n",
    "csat_good",
    "nps_n",
    "nps_promoters",
    "nps_detractors",
    "qa_n",
)


def scale_outcomes(
    outcomes: Mapping[Period, PeriodOutcomes], kind: str, factor: Decimal
) -> dict[Period, PeriodOutcomes]:
    """The measured months with the volume (every count and sum) or only the resolutions scaled
    by ``factor``, each figure rounded half-up to a whole count. Rates and averages stay as they
    were for volume; for resolutions, the FCR moves with them (capped at the answered)."""
    return {
        p: dataclasses.replace(o, cells=tuple(_scale_cell(c, kind, factor) for c in o.cells))
        for p, o in outcomes.items()
    }


def _scale_cell(cell: OutcomeCell, kind: str, factor: Decimal) -> OutcomeCell:
    if kind == "resolutions":
        return dataclasses.replace(cell, resolutions=min(cell.answered, _scaled(cell.resolutions, factor)))
    changes: dict[str, Any] = {name: _scaled(getattr(cell, name), factor) for name in _VOLUME_FIELDS}
    changes["answered_within"] = tuple(_scaled(v, factor) for v in cell.answered_within)
    changes["abandoned_within"] = tuple(_scaled(v, factor) for v in cell.abandoned_within)
    changes["qa_sum"] = EXACT.multiply(cell.qa_sum, factor)
    scaled = dataclasses.replace(cell, **changes)
    return dataclasses.replace(scaled, resolutions=min(scaled.answered, scaled.resolutions))


def _scaled(value: int, factor: Decimal) -> int:
    return int(EXACT.multiply(Decimal(value), factor).to_integral_value(rounding=ROUND_HALF_UP))
