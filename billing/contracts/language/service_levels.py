"""The ``service_levels`` section: at-risk percent, earnback, forecast excusal and the levels."""

from __future__ import annotations

from decimal import Decimal

from billing.contracts.language.charges import filter_of
from billing.contracts.language.reader import Reader, items, join
from billing.contracts.language.yaml_source import LineDict
from billing.contracts.terms import (
    DEFAULT_THRESHOLD_SECONDS,
    KpiMetric,
    ServiceLevel,
    ServiceLevelFormula,
    ServiceLevels,
)
from billing.core import limits
from billing.core.periods import Period

_LEVEL_KEYS = {
    "id",
    "metric",
    "channels",
    "handled_by",
    "threshold_seconds",
    "formula",
    "target",
    "allocation_percent",
    "minimum_sample",
    "description",
}


def service_levels_of(r: Reader, doc: LineDict) -> ServiceLevels | None:
    m = r.mapping(doc, "service_levels", "", required=False)
    if m is None:
        return None
    path = "service_levels"
    r.unknown_keys(
        m, {"at_risk_percent", "earnback_months", "excuse_above_forecast_percent", "forecast", "levels"}, path
    )
    at_risk = r.number(m, "at_risk_percent", path, maximum=limits.MAX_PERCENT)
    if at_risk is not None and at_risk > 100:
        r.problem(
            "range",
            f"at_risk_percent is at most 100, got {at_risk}",
            m,
            join(path, "at_risk_percent"),
            "at_risk_percent",
        )
    earnback = r.integer(m, "earnback_months", path, required=False, minimum=1, maximum=24)
    excuse = r.number(
        m, "excuse_above_forecast_percent", path, required=False, strictly_positive=True, maximum=Decimal(10000)
    )
    forecast: list[tuple[Period, int]] = []
    fmap = r.mapping(m, "forecast", path, required=False)
    if fmap is not None:
        for key in fmap:
            fpath = join(join(path, "forecast"), key)
            try:
                period = Period.parse(str(key))
            except ValueError:
                r.problem("period", f"forecast keys are periods YYYY-MM, got {key!r}", fmap, fpath, key)
                continue
            value = r.integer(fmap, key, join(path, "forecast"))
            if value is not None:
                forecast.append((period, value))
    if excuse is not None and fmap is None:
        r.problem("missing", "excuse_above_forecast_percent needs a forecast", m, join(path, "forecast"))
    seq = r.sequence(m, "levels", path)
    levels: list[ServiceLevel] = []
    seen: set[str] = set()
    if seq is not None:
        for line, lpath, item in items(seq, join(path, "levels")):
            if not isinstance(item, LineDict):
                r.problem("type", "each level is a mapping", line, lpath)
                continue
            level = _level(r, item, lpath)
            if level is not None:
                if level.id in seen:
                    r.problem("duplicate_id", f"level id {level.id!r} is used twice", item, join(lpath, "id"), "id")
                seen.add(level.id)
                levels.append(level)
    if at_risk is None or seq is None:
        return None
    return ServiceLevels(at_risk, tuple(levels), earnback, excuse, tuple(sorted(forecast)))


#: What a target can be: seconds for ASA and AHT, -100..100 for NPS, a percentage otherwise.
_TARGET_RANGE = {
    KpiMetric.ASA_SECONDS: (Decimal(0), Decimal(86400)),
    KpiMetric.AHT_SECONDS: (Decimal(0), Decimal(86400)),
    KpiMetric.NPS: (Decimal(-100), limits.MAX_PERCENT),
}
_PERCENT_RANGE = (Decimal(0), limits.MAX_PERCENT)


def _level(r: Reader, m: LineDict, path: str) -> ServiceLevel | None:
    r.unknown_keys(m, _LEVEL_KEYS, path)
    lid = r.text(m, "id", path, domain=limits.LEVEL_ID)
    metric = r.choice(m, "metric", path, KpiMetric, [k.value for k in KpiMetric], what="metric")
    low, high = _TARGET_RANGE.get(metric, _PERCENT_RANGE) if metric else (Decimal(-100), Decimal(86400))
    target = r.number(m, "target", path, minimum=low, maximum=high)
    allocation = r.number(m, "allocation_percent", path, maximum=limits.MAX_PERCENT)
    threshold = r.integer(m, "threshold_seconds", path, required=False, maximum=86400)
    formula = r.choice(
        m, "formula", path, ServiceLevelFormula, [f.value for f in ServiceLevelFormula], required=False, what="formula"
    )
    minimum_sample = r.integer(m, "minimum_sample", path, required=False, maximum=10**9)
    description = r.text(m, "description", path, required=False) or ""
    flt = filter_of(r, m, path, key="")
    if metric is not KpiMetric.SERVICE_LEVEL and ("threshold_seconds" in m or "formula" in m):
        r.problem("field", "threshold_seconds and formula apply to the service_level metric only", m, path)
    if lid is None or metric is None or target is None or allocation is None:
        return None
    return ServiceLevel(
        id=lid,
        metric=metric,
        target=target,
        allocation_percent=allocation,
        filter=flt,
        threshold_seconds=threshold if threshold is not None else DEFAULT_THRESHOLD_SECONDS,
        formula=formula or ServiceLevelFormula.EXCLUDE_SHORT_ABANDONS,
        minimum_sample=minimum_sample,
        description=description,
    )
