"""The profile of a prospect (docs/simulation.md): the operation a client without history
expects, as YAML -> a validated ``Profile``, every problem with its file, line and field, read
with the contract language's reader and limits.

A figure that varies month to month is a distribution: a number (always that value) or
``{mean: M, sd: S}`` (normal, drawn once a month, kept within its range). Percentages are
0-100; handle times are seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from billing.contracts.language import read_document
from billing.contracts.language.reader import Reader, join
from billing.contracts.language.yaml_source import LineDict
from billing.contracts.terms import DEFAULT_HOURS_PER_FTE, DEFAULT_THRESHOLD_SECONDS
from billing.core import limits
from billing.core.periods import Period, is_valid_timezone
from billing.core.problems import Problem

HUNDRED = Decimal(100)
MAX_MONTHLY_CONTACTS = 100_000_000
MAX_HANDLE_SECONDS = Decimal(86400)
#: The longest prospect a simulation generates, in months.
MAX_MONTHS = 120


@dataclass(frozen=True)
class Dist:
    mean: Decimal
    sd: Decimal = Decimal(0)


@dataclass(frozen=True)
class ChannelProfile:
    name: str
    offered: int  # contacts offered in the first month, before seasonality
    ai_share: Dist  # percent of offered handled by AI
    abandonment: Dist  # percent of the contacts offered to people that abandon
    aht_human: Dist
    aht_ai: Dist
    fcr_human: Dist  # percent of answered contacts resolved (repeat contacts already out)
    fcr_ai: Dist
    csat: Dist  # percent of surveys scoring 4-5
    survey_percent: Decimal
    service_level: Dist  # percent of contacts offered to people answered within the threshold
    threshold_seconds: int = DEFAULT_THRESHOLD_SECONDS
    qa_score: Dist | None = None
    qa_percent: Decimal = Decimal(4)


@dataclass(frozen=True)
class Profile:
    name: str
    source: str
    start: Period
    channels: tuple[ChannelProfile, ...]
    timezone: str = "UTC"
    growth_percent: Decimal = Decimal(0)
    volume_noise_percent: Decimal = Decimal(0)
    seasonality: dict[int, Decimal] = field(default_factory=dict)
    fte: Decimal | None = None  # fixed staffing; else the human handle time over occupancy
    hours_per_fte: Decimal = DEFAULT_HOURS_PER_FTE
    occupancy_percent: Decimal = Decimal(75)


_TOP = {
    "prospect",
    "description",
    "start",
    "timezone",
    "growth_percent",
    "volume_noise_percent",
    "seasonality",
    "staffing",
    "channels",
}
_CHANNEL = {
    "offered",
    "ai_share",
    "abandonment",
    "aht_seconds",
    "fcr",
    "csat",
    "survey_percent",
    "service_level",
    "qa",
}


def load_profile_text(text: str, source: str) -> tuple[Profile | None, list[Problem]]:
    document, problems = read_document(text, source)
    if document is None:
        return None, problems
    return parse_profile(document, source)


def parse_profile(doc: LineDict, source: str) -> tuple[Profile | None, list[Problem]]:
    r = Reader(source)
    r.unknown_keys(doc, _TOP, "")
    name = r.text(doc, "prospect", "", domain=limits.CONTRACT_CODE)
    r.text(doc, "description", "", required=False)
    start = _period(r, doc)
    timezone = r.text(doc, "timezone", "", required=False, domain=limits.TIMEZONE) or "UTC"
    if not is_valid_timezone(timezone):
        r.problem("unknown_timezone", f"unknown time zone {timezone!r}", doc, "timezone", "timezone")
    growth = r.number(doc, "growth_percent", "", required=False, minimum=Decimal(-50), maximum=HUNDRED, places=4)
    noise = r.number(doc, "volume_noise_percent", "", required=False, maximum=HUNDRED, places=4)
    seasonality = _seasonality(r, doc)
    fte, hours_per_fte, occupancy = _staffing(r, doc)
    channels = _channels(r, doc)
    if r.problems:
        return None, r.problems
    assert name and start and channels
    return (
        Profile(
            name,
            source,
            start,
            channels,
            timezone,
            growth or Decimal(0),
            noise or Decimal(0),
            seasonality,
            fte,
            hours_per_fte,
            occupancy,
        ),
        [],
    )


def _period(r: Reader, doc: LineDict) -> Period | None:
    value = r.text(doc, "start", "", domain=limits.DESCRIPTION)
    if value is None:
        return None
    try:
        period = Period.parse(value)
    except ValueError:
        r.problem("period", f"a month is written YYYY-MM, got {limits.shown(value)}", doc, "start", "start")
        return None
    reason = limits.date_problem(period.first_day)
    if reason is not None:
        r.problem("date", reason, doc, "start", "start")
        return None
    return period


def _seasonality(r: Reader, doc: LineDict) -> dict[int, Decimal]:
    m = r.mapping(doc, "seasonality", "", required=False)
    out: dict[int, Decimal] = {}
    for key in m or {}:
        assert m is not None
        path = join("seasonality", str(key))
        if not str(key).isdigit() or not 1 <= int(str(key)) <= 12:
            r.problem("month", f"seasonality is keyed by month number 1-12, got {limits.shown(str(key))}", m, path, key)
            continue
        factor = r.number(m, key, "seasonality", maximum=Decimal(10), places=4)
        if factor is not None:
            out[int(str(key))] = factor
    return out


def _staffing(r: Reader, doc: LineDict) -> tuple[Decimal | None, Decimal, Decimal]:
    m = r.mapping(doc, "staffing", "", required=False)
    if m is None:
        return None, DEFAULT_HOURS_PER_FTE, Decimal(75)
    r.unknown_keys(m, {"fte", "hours_per_fte", "occupancy_percent"}, "staffing")
    fte = r.number(m, "fte", "staffing", required=False, maximum=limits.MAX_FTE, places=4)
    hours = r.number(m, "hours_per_fte", "staffing", required=False, strictly_positive=True, maximum=Decimal(744))
    occupancy = r.number(m, "occupancy_percent", "staffing", required=False, strictly_positive=True, maximum=HUNDRED)
    if fte is not None and occupancy is not None:
        r.problem("staffing", "give fte (fixed staffing) or occupancy_percent, not both", m, "staffing")
    return fte, hours or DEFAULT_HOURS_PER_FTE, occupancy or Decimal(75)


def _channels(r: Reader, doc: LineDict) -> tuple[ChannelProfile, ...] | None:
    m = r.mapping(doc, "channels", "")
    if m is None:
        return None
    if not m:
        r.problem("empty", "a profile has at least one channel", m, "channels")
        return None
    out = []
    for key in m:
        path = join("channels", str(key))
        reason = limits.CHANNEL.problem(str(key))
        if reason is not None:
            r.problem("invalid_text", reason, m, path, key)
            continue
        entry = r.mapping(m, key, "channels")
        if entry is not None:
            channel = _channel(r, str(key), entry, path)
            if channel is not None:
                out.append(channel)
    return tuple(out)


def _channel(r: Reader, name: str, m: LineDict, path: str) -> ChannelProfile | None:
    r.unknown_keys(m, _CHANNEL, path)
    offered = r.integer(m, "offered", path, maximum=MAX_MONTHLY_CONTACTS)
    ai_share = _dist(r, m, "ai_share", path, Decimal(0))
    abandonment = _dist(r, m, "abandonment", path, Decimal(0))
    aht_human, aht_ai = _by_handler(r, m, "aht_seconds", path, Decimal(300), MAX_HANDLE_SECONDS)
    fcr_human, fcr_ai = _by_handler(r, m, "fcr", path, Decimal(0), HUNDRED)
    csat = _dist(r, m, "csat", path, Decimal(0))
    survey = r.number(m, "survey_percent", path, required=False, maximum=HUNDRED, places=4)
    level, threshold = _service_level(r, m, path)
    qa_score, qa_percent = _qa(r, m, path)
    parts = (offered, ai_share, abandonment, aht_human, aht_ai, fcr_human, fcr_ai, csat, level)
    if any(part is None for part in parts) or threshold is None:
        return None
    assert offered is not None and ai_share and abandonment and aht_human and aht_ai
    assert fcr_human and fcr_ai and csat and level
    return ChannelProfile(
        name,
        offered,
        ai_share,
        abandonment,
        aht_human,
        aht_ai,
        fcr_human,
        fcr_ai,
        csat,
        Decimal(15) if survey is None else survey,
        level,
        threshold,
        qa_score,
        qa_percent,
    )


def _dist(
    r: Reader, m: LineDict, key: str, path: str, default: Decimal | None, maximum: Decimal = HUNDRED
) -> Dist | None:
    value = m.get(key)
    if value is None:
        if default is None:
            r.problem("missing", "is required", m, join(path, key))
        return None if default is None else Dist(default)
    if isinstance(value, LineDict):
        here = join(path, key)
        r.unknown_keys(value, {"mean", "sd"}, here)
        mean = r.number(value, "mean", here, maximum=maximum, places=4)
        sd = r.number(value, "sd", here, required=False, maximum=maximum, places=4)
        return None if mean is None else Dist(mean, sd or Decimal(0))
    number = r.number(m, key, path, maximum=maximum, places=4)
    return None if number is None else Dist(number)


def _by_handler(
    r: Reader, m: LineDict, key: str, path: str, default: Decimal, maximum: Decimal
) -> tuple[Dist | None, Dist | None]:
    """``key: {human: DIST, ai: DIST}``, or one distribution for both."""
    value = m.get(key)
    if value is None:
        r.problem("missing", "is required", m, join(path, key))
        return None, None
    if isinstance(value, LineDict) and ({"human", "ai"} & set(value)):
        here = join(path, key)
        r.unknown_keys(value, {"human", "ai"}, here)
        return _dist(r, value, "human", here, default, maximum), _dist(r, value, "ai", here, default, maximum)
    both = _dist(r, m, key, path, None, maximum)
    return both, both


def _service_level(r: Reader, m: LineDict, path: str) -> tuple[Dist | None, int | None]:
    value = m.get("service_level")
    if value is None:
        return Dist(HUNDRED), DEFAULT_THRESHOLD_SECONDS
    here = join(path, "service_level")
    if not isinstance(value, LineDict) or "percent" not in value:
        r.problem("type", "is {threshold_seconds: S, percent: DIST}", m, here, "service_level")
        return None, None
    r.unknown_keys(value, {"threshold_seconds", "percent"}, here)
    threshold = r.integer(value, "threshold_seconds", here, required=False, minimum=1, maximum=86400)
    return _dist(r, value, "percent", here, None), threshold or DEFAULT_THRESHOLD_SECONDS


def _qa(r: Reader, m: LineDict, path: str) -> tuple[Dist | None, Decimal]:
    value = r.mapping(m, "qa", path, required=False)
    if value is None:
        return None, Decimal(4)
    here = join(path, "qa")
    r.unknown_keys(value, {"score", "sample_percent"}, here)
    sample = r.number(value, "sample_percent", here, required=False, maximum=HUNDRED, places=4)
    return _dist(r, value, "score", here, None), Decimal(4) if sample is None else sample
