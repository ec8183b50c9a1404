"""A seeded generator of a prospect's months: a ``Profile`` -> the per-period outcome sums
(``PeriodOutcomes``) the rating engine consumes, without a database. Pure and reproducible:
the same profile, months and seed give the same outcomes, byte for byte (one
``random.Random`` seeded with the seed and the prospect's name, drawn in a fixed order).

Each month, in order: the volume factor (compound growth x the calendar month's seasonality
x a normal noise around 1), then per channel as listed: the AI share, abandonment, handle
times, first-contact resolution, CSAT, service level and QA score, each drawn from its
distribution and kept in range. Counts are rounded half-up; then:

- AI contacts are answered at once (within every threshold, no wait, no abandon);
- the contacts offered to people abandon at the abandonment rate (none within a threshold),
  and the service level is the share of them answered within its threshold; waits are
  exponential (the share within t seconds is 1 - (1 - SL)^(t / threshold));
- resolutions, surveys and QA scores follow their rates over the answered contacts;
- productive hours are the staffing's fixed FTE x hours per FTE, or else the human handle
  time over the occupancy.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal

from billing.core.periods import Period
from billing.measurement.kpis import OutcomeCell, PeriodOutcomes
from billing.simulation.profile import HUNDRED, ChannelProfile, Dist, Profile

HOUR = Decimal(3600)
CENT = Decimal("0.01")


def generate(profile: Profile, months: int, seed: int, thresholds: Sequence[int]) -> dict[Period, PeriodOutcomes]:
    """``months`` months from the profile's start, each measured against ``thresholds``."""
    rng = random.Random(f"{seed}/{profile.name}")
    out = {}
    for index in range(months):
        period = profile.start.shift(index)
        factor = _volume_factor(profile, period, index, rng)
        cells: list[OutcomeCell] = []
        for channel in profile.channels:
            cells.extend(_channel_cells(channel, round_half_up(channel.offered * factor), rng, tuple(thresholds)))
        human_handle = sum(c.handle_sum for c in cells if c.handled_by == "human")
        if profile.fte is not None:
            hours = profile.fte * profile.hours_per_fte
        else:
            hours = Decimal(human_handle) / HOUR * HUNDRED / profile.occupancy_percent
        ordered = tuple(sorted((c for c in cells if c.offered), key=lambda c: (c.channel, c.handled_by)))
        out[period] = PeriodOutcomes(
            profile.name, period, tuple(thresholds), ordered, hours.quantize(CENT, rounding=ROUND_HALF_UP)
        )
    return out


def _volume_factor(profile: Profile, period: Period, index: int, rng: random.Random) -> float:
    growth = (1 + float(profile.growth_percent) / 100) ** index
    season = float(profile.seasonality.get(period.month, Decimal(1)))
    noise = max(0.0, rng.gauss(1.0, float(profile.volume_noise_percent) / 100))
    return growth * season * noise


def draw(dist: Dist, rng: random.Random, low: float, high: float) -> float:
    """One value of the distribution, within [low, high] (a draw is made even when sd is 0,
    so adding spread to one figure does not shift every later draw)."""
    value = rng.gauss(float(dist.mean), float(dist.sd))
    return min(high, max(low, value))


def round_half_up(value: float) -> int:
    return math.floor(value + 0.5) if value >= 0 else 0


def _channel_cells(
    c: ChannelProfile, offered: int, rng: random.Random, thresholds: tuple[int, ...]
) -> list[OutcomeCell]:
    ai_share = draw(c.ai_share, rng, 0, 100) / 100
    abandonment = draw(c.abandonment, rng, 0, 100) / 100
    aht_human = draw(c.aht_human, rng, 1, 86400)
    aht_ai = draw(c.aht_ai, rng, 1, 86400)
    fcr_human = draw(c.fcr_human, rng, 0, 100) / 100
    fcr_ai = draw(c.fcr_ai, rng, 0, 100) / 100
    csat = draw(c.csat, rng, 0, 100) / 100
    level = draw(c.service_level, rng, 0, 100) / 100
    qa = draw(c.qa_score, rng, 0, 100) if c.qa_score is not None else None
    surveys = float(c.survey_percent) / 100

    ai_offered = round_half_up(offered * ai_share)
    human_offered = offered - ai_offered
    abandoned = round_half_up(human_offered * abandonment)
    answered = human_offered - abandoned
    within = tuple(min(answered, round_half_up(human_offered * _share_within(level, t, c))) for t in thresholds)
    human_surveys = round_half_up(answered * surveys)
    qa_n = round_half_up(answered * float(c.qa_percent) / 100) if qa is not None else 0
    human = OutcomeCell(
        c.name,
        "human",
        offered=human_offered,
        abandoned=abandoned,
        answered_wait_sum=round_half_up(answered * _mean_wait(level, c.threshold_seconds)),
        handle_sum=round_half_up(answered * aht_human),
        answered_within=within,
        abandoned_within=tuple(0 for _ in thresholds),
        resolutions=round_half_up(answered * fcr_human),
        csat_n=human_surveys,
        csat_good=round_half_up(human_surveys * csat),
        qa_n=qa_n,
        qa_sum=(Decimal(qa_n) * Decimal(str(round(qa, 2)))) if qa is not None else Decimal(0),
    )
    ai_surveys = round_half_up(ai_offered * surveys)
    ai = OutcomeCell(
        c.name,
        "ai",
        offered=ai_offered,
        handle_sum=round_half_up(ai_offered * aht_ai),
        answered_within=tuple(ai_offered for _ in thresholds),
        abandoned_within=tuple(0 for _ in thresholds),
        resolutions=round_half_up(ai_offered * fcr_ai),
        csat_n=ai_surveys,
        csat_good=round_half_up(ai_surveys * csat),
    )
    return [human, ai]


def _share_within(level: float, seconds: int, c: ChannelProfile) -> float:
    """Exponential waits through the profile's point: ``level`` within its threshold."""
    if level >= 1:
        return 1.0
    return 1 - (1 - level) ** (seconds / c.threshold_seconds)


def _mean_wait(level: float, threshold: int) -> float:
    if level >= 1:
        return 0.0
    if level <= 0:
        return float(threshold) * 10
    return -threshold / math.log(1 - level)
