"""The KPIs of a date range, by day, week or month, from the analytics read model.

Every day is a UTC date and both ends of a range are included. The README's
Analytics section defines each figure; `compute_kpis` is the one entry point.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal
from uuid import UUID

from projections.analytics import MOOD_BANDS, AnalyticsProjection
from projections.analytics_reading import CharacterDay, Rows, SignUp, UserDay, read_rows
from projections.store import ViewStore

Grain = Literal["day", "week", "month"]
GRAINS: tuple[Grain, ...] = ("day", "week", "month")
RETENTION_DAYS = (1, 7, 30)
MAU_DAYS = 30
WAU_DAYS = 7
FIRST_LEVEL = 1


@dataclass(frozen=True)
class CharacterProgress:
    """How one character's relationship and mood moved over the report's range."""

    character_id: UUID
    user_id: UUID
    name: str
    level_start: int
    level_end: int
    level_ups: int
    level_downs: int
    mood_changes: int
    mood_mean: float | None
    mood_end: int | None


@dataclass(frozen=True)
class KpiPeriod:
    """Every KPI over the days start..end (both included, UTC)."""

    start: date
    end: date
    new_users: int
    active_users: int
    dau: float
    wau: int
    mau: int
    stickiness: float | None
    sessions: int
    sessions_per_user: float | None
    session_seconds_mean: float | None
    messages: int
    messages_per_session: float | None
    retention: dict[str, float | None]
    conversion: float | None
    revenue_yen: int
    payers: int
    arpu: float | None
    arppu: float | None
    ltv: float | None
    churn: float | None
    gems_bought: int
    gems_bonus: int
    gems_spent: int
    purchases: int
    subscriptions_started: int
    renewals: int
    cancel_requests: int
    cancellations: int
    replies: int
    latency_ms: dict[str, int | None]
    fallback_rate: float | None
    mood_changes: int
    mood_mean: float | None
    mood_bands: dict[str, int]
    level_ups: int
    level_downs: int


@dataclass(frozen=True)
class KpiReport:
    start: date
    end: date
    by: Grain
    periods: list[KpiPeriod]
    total: KpiPeriod
    characters: list[CharacterProgress] = field(default_factory=list)


def periods_of(start: date, end: date, by: Grain) -> list[tuple[date, date]]:
    """The range cut by calendar day, ISO week (Monday first) or month, clipped to it."""
    cuts = []
    day = start
    while day <= end:
        if by == "day":
            last = day
        elif by == "week":
            last = day + timedelta(days=6 - day.weekday())
        else:
            following = date(day.year + day.month // 12, day.month % 12 + 1, 1)
            last = following - timedelta(days=1)
        last = min(last, end)
        cuts.append((day, last))
        day = last + timedelta(days=1)
    return cuts


def compute_kpis(
    views: ViewStore, model: AnalyticsProjection, *, start: date, end: date, by: Grain = "day"
) -> KpiReport:
    """The KPIs of start..end (UTC dates, both included), per period of `by` and in total."""
    if end < start:
        raise ValueError("the range ends before it starts")
    span = (end - start).days + 1
    lookback = start - timedelta(days=max(MAU_DAYS - 1, span))
    rows = read_rows(views, model, since=lookback, until=end)
    facts = _Facts(rows, end)
    periods = [facts.period(first, last) for first, last in periods_of(start, end, by)]
    return KpiReport(
        start, end, by, periods, facts.period(start, end), facts.characters(start, end, rows)
    )


class _Facts:
    """The rows of a report, indexed by day and by user."""

    def __init__(self, rows: Rows, end: date) -> None:
        self.end = end
        self.sign_ups = rows.sign_ups
        self.by_day: dict[date, list[UserDay]] = defaultdict(list)
        for user_day in rows.user_days:
            self.by_day[user_day.day].append(user_day)
        self.active_on: dict[date, set[UUID]] = {
            day: {d.user_id for d in days if d.active} for day, days in self.by_day.items()
        }
        self.revenue_of: dict[UUID, int] = defaultdict(int)
        """Each user's revenue up to the report's end (none is earlier than a sign-up)."""
        for user_day in rows.user_days:
            self.revenue_of[user_day.user_id] += user_day.counts["revenue_yen"]
        self.characters_on: dict[date, list[CharacterDay]] = defaultdict(list)
        for row in rows.character_days:
            self.characters_on[row.day].append(row)
        self.latencies = rows.latencies

    def days(self, first: date, last: date) -> Iterable[date]:
        return (first + timedelta(days=n) for n in range((last - first).days + 1))

    def active(self, first: date, last: date) -> set[UUID]:
        users: set[UUID] = set()
        for day in self.days(first, last):
            users |= self.active_on.get(day, set())
        return users

    def period(self, first: date, last: date) -> KpiPeriod:
        span = (last - first).days + 1
        sums: dict[str, int] = defaultdict(int)
        payers: set[UUID] = set()
        for day in self.days(first, last):
            for user_day in self.by_day.get(day, ()):
                for name, value in user_day.counts.items():
                    sums[name] += value
                if user_day.counts["payments"]:
                    payers.add(user_day.user_id)
        active = self.active(first, last)
        dau = sum(len(self.active_on.get(day, ())) for day in self.days(first, last)) / span
        mau = len(self.active(last - timedelta(days=MAU_DAYS - 1), last))
        previous = self.active(first - timedelta(days=span), first - timedelta(days=1))
        cohort = [s for s in self.sign_ups if first <= s.day <= last]
        revenue = sums["revenue_yen"]
        latency = self._latency(first, last)
        moods = self._moods(first, last)
        return KpiPeriod(
            start=first,
            end=last,
            new_users=len(cohort),
            active_users=len(active),
            dau=round(dau, 4),
            wau=len(self.active(last - timedelta(days=WAU_DAYS - 1), last)),
            mau=mau,
            stickiness=_ratio(dau, mau),
            sessions=sums["sessions"],
            sessions_per_user=_ratio(sums["sessions"], len(active)),
            session_seconds_mean=_ratio(sums["session_ms"] / 1000, sums["sessions_ended"]),
            messages=sums["messages"],
            messages_per_session=_ratio(sums["messages"], sums["sessions"]),
            retention={f"day{n}": self._retention(cohort, n) for n in RETENTION_DAYS},
            conversion=_ratio(
                sum(1 for s in cohort if s.first_paid is not None and s.first_paid <= self.end),
                len(cohort),
            ),
            revenue_yen=revenue,
            payers=len(payers),
            arpu=_ratio(revenue, len(active)),
            arppu=_ratio(revenue, len(payers)),
            ltv=self._ltv(cohort),
            churn=_ratio(len(previous - active), len(previous)),
            gems_bought=sums["gems_bought"],
            gems_bonus=sums["gems_bonus"],
            gems_spent=sums["gems_spent"],
            purchases=sums["purchases"],
            subscriptions_started=sums["subscription_starts"],
            renewals=sums["renewals"],
            cancel_requests=sums["cancel_requests"],
            cancellations=sums["cancellations"],
            replies=latency[0],
            latency_ms=latency[1],
            fallback_rate=_ratio(latency[2], latency[0]),
            mood_changes=moods[0],
            mood_mean=_ratio(moods[1], moods[0]),
            mood_bands=moods[2],
            level_ups=moods[3],
            level_downs=moods[4],
        )

    def _retention(self, cohort: list[SignUp], n: int) -> float | None:
        eligible = [s for s in cohort if s.day + timedelta(days=n) <= self.end]
        kept = sum(
            1 for s in eligible if s.user_id in self.active_on.get(s.day + timedelta(days=n), set())
        )
        return _ratio(kept, len(eligible))

    def _ltv(self, cohort: list[SignUp]) -> float | None:
        members = {s.user_id for s in cohort}
        revenue = sum(self.revenue_of.get(user_id, 0) for user_id in members)
        return _ratio(revenue, len(members))

    def _latency(self, first: date, last: date) -> tuple[int, dict[str, int | None], int]:
        histogram: dict[int, int] = defaultdict(int)
        fallbacks = 0
        for day, latency_ms, replies, fell_back in self.latencies:
            if first <= day <= last:
                histogram[latency_ms] += replies
                fallbacks += fell_back
        replies = sum(histogram.values())
        return (
            replies,
            {f"p{p}": nearest_rank(histogram, p) for p in (50, 95, 99)},
            fallbacks,
        )

    def _moods(self, first: date, last: date) -> tuple[int, int, dict[str, int], int, int]:
        changes = total = ups = downs = 0
        bands = dict.fromkeys(MOOD_BANDS, 0)
        for row in (r for day in self.days(first, last) for r in self.characters_on.get(day, ())):
            if first <= row.day <= last:
                changes += row.counts["mood_changes"]
                total += row.counts["mood_sum"]
                ups += row.counts["level_ups"]
                downs += row.counts["level_downs"]
                for band in MOOD_BANDS:
                    bands[band] += row.counts[f"mood_{band}"]
        return changes, total, bands, ups, downs

    def characters(self, first: date, last: date, rows: Rows) -> list[CharacterProgress]:
        days_of: dict[UUID, list[CharacterDay]] = defaultdict(list)
        for row in sorted(rows.character_days, key=lambda r: r.day):
            days_of[row.character_id].append(row)
        progress = []
        for character in sorted(rows.characters, key=lambda c: (c.created, str(c.character_id))):
            if character.created > last:
                continue
            history = days_of.get(character.character_id, [])
            before = [r.level_last for r in history if r.day < first and r.level_last is not None]
            start_level = before[-1] if before else FIRST_LEVEL
            within = [r for r in history if first <= r.day <= last]
            levels = [r.level_last for r in within if r.level_last is not None]
            moods = [r.mood_last for r in history if r.day <= last and r.mood_last is not None]
            changes = sum(r.counts["mood_changes"] for r in within)
            progress.append(
                CharacterProgress(
                    character_id=character.character_id,
                    user_id=character.user_id,
                    name=character.name,
                    level_start=start_level,
                    level_end=levels[-1] if levels else start_level,
                    level_ups=sum(r.counts["level_ups"] for r in within),
                    level_downs=sum(r.counts["level_downs"] for r in within),
                    mood_changes=changes,
                    mood_mean=_ratio(sum(r.counts["mood_sum"] for r in within), changes),
                    mood_end=moods[-1] if moods else None,
                )
            )
        return progress


def nearest_rank(histogram: dict[int, int], percentile: int) -> int | None:
    """The smallest value with at least `percentile` % of the counts at or below it."""
    total = sum(histogram.values())
    if total == 0:
        return None
    rank = max(1, math.ceil(percentile / 100 * total))
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= rank:
            return value
    return max(histogram)


def _ratio(part: float, whole: float) -> float | None:
    return round(part / whole, 4) if whole else None
