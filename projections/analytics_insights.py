"""Per-user insights: how engaged each user is, and how likely they are to leave.

Both are read from the users' days of the last 28 days up to a given day (UTC):

- engagement = 100 × (0.5 × active days / 28 + 0.3 × min(1, messages / 280)
  + 0.2 × min(1, mean session minutes / 30)), from 0 to 100;
- churn risk = 0.7 × (1 − e^(−d / 7)) + 0.3 × decline, from 0 to 1, where d is
  the days since the last active day (since sign-up if never active) and
  decline = max(0, (a₀ − a₁) / a₀) for a₁ the active days of the last 14 days
  and a₀ those of the 14 before (0 when a₀ = 0); low below 0.3, medium below
  0.6, high from 0.6.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal
from uuid import UUID

from projections.analytics import AnalyticsProjection
from projections.analytics_reading import UserDay, read_rows
from projections.store import ViewStore, as_uuid

WINDOW_DAYS = 28
HALF_WINDOW_DAYS = 14
SATURATING_MESSAGES = 280
SATURATING_SESSION_MINUTES = 30
RISK_SCALE_DAYS = 7

RiskBand = Literal["low", "medium", "high"]


@dataclass(frozen=True)
class UserInsight:
    user_id: UUID
    signed_up: date
    active_days: int
    messages: int
    sessions: int
    session_minutes_mean: float | None
    days_since_active: int
    engagement: float
    churn_risk: float
    risk: RiskBand


def engagement_score(active_days: int, messages: int, session_minutes: float | None) -> float:
    """0..100: how much of the last 28 days the user was there, talked, and stayed."""
    score = (
        0.5 * min(1.0, active_days / WINDOW_DAYS)
        + 0.3 * min(1.0, messages / SATURATING_MESSAGES)
        + 0.2 * min(1.0, (session_minutes or 0.0) / SATURATING_SESSION_MINUTES)
    )
    return round(100 * score, 1)


def churn_risk(days_since_active: int, recent_days: int, earlier_days: int) -> float:
    """0..1: long silence, and fewer active days lately than the fortnight before."""
    silence = 1 - math.exp(-days_since_active / RISK_SCALE_DAYS)
    decline = max(0.0, (earlier_days - recent_days) / earlier_days) if earlier_days else 0.0
    return round(0.7 * silence + 0.3 * decline, 3)


def risk_band(risk: float) -> RiskBand:
    return "low" if risk < 0.3 else "medium" if risk < 0.6 else "high"


def user_insights(
    views: ViewStore, model: AnalyticsProjection, *, at: date, user_id: UUID | None = None
) -> list[UserInsight]:
    """The insights of every user signed up by `at` (or of one), as of the end of `at`."""
    since = at - timedelta(days=WINDOW_DAYS - 1)
    rows = read_rows(views, model, since=since, until=at, characters_since=at)
    days_of: dict[UUID, list[UserDay]] = defaultdict(list)
    for user_day in rows.user_days:
        days_of[user_day.user_id].append(user_day)
    last_active = _last_active_days(views, model, at)
    insights = []
    for sign_up in sorted(rows.sign_ups, key=lambda s: (s.day, str(s.user_id))):
        if user_id is not None and sign_up.user_id != user_id:
            continue
        days = [d for d in days_of.get(sign_up.user_id, []) if d.active]
        messages = sum(d.counts["messages"] for d in days_of.get(sign_up.user_id, []))
        sessions = sum(d.counts["sessions"] for d in days_of.get(sign_up.user_id, []))
        ended = sum(d.counts["sessions_ended"] for d in days_of.get(sign_up.user_id, []))
        session_ms = sum(d.counts["session_ms"] for d in days_of.get(sign_up.user_id, []))
        minutes = round(session_ms / 60_000 / ended, 2) if ended else None
        recent_start = at - timedelta(days=HALF_WINDOW_DAYS - 1)
        recent = sum(1 for d in days if d.day >= recent_start)
        last = last_active.get(sign_up.user_id, sign_up.day)
        silence = max(0, (at - max(last, sign_up.day)).days)
        risk = churn_risk(silence, recent, len(days) - recent)
        insights.append(
            UserInsight(
                user_id=sign_up.user_id,
                signed_up=sign_up.day,
                active_days=len(days),
                messages=messages,
                sessions=sessions,
                session_minutes_mean=minutes,
                days_since_active=silence,
                engagement=engagement_score(len(days), messages, minutes),
                churn_risk=risk,
                risk=risk_band(risk),
            )
        )
    return insights


def _last_active_days(views: ViewStore, model: AnalyticsProjection, at: date) -> dict[UUID, date]:
    """Each user's last active day up to `at`, however long ago."""
    with views.read() as cursor:
        rows = cursor.query(
            f"SELECT user_id, MAX(day) AS last_day FROM {model.user_days_table}"
            " WHERE day <= :at AND (sessions > 0 OR messages > 0) GROUP BY user_id",
            {"at": at.isoformat()},
        )
    return {as_uuid(row["user_id"]): date.fromisoformat(str(row["last_day"])) for row in rows}
