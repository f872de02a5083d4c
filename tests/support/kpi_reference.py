"""The KPIs and insights computed again, in plain Python, from an export of the event log.

A second reading of the README's definitions, sharing no code with the read
model or `companion.app.analytics`: the tests compare the two.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from companion.app.bootstrap import Companion
from companion.app.event_log import (
    EventFilter,
    Export,
    log_head,
    read_attributions,
    read_events,
    to_json,
)


def exported_records(companion: Companion) -> list[dict[str, Any]]:
    """Every event as `companion events export --format jsonl` writes it, read back."""
    application = companion.application
    head = log_head(application)
    export = Export(read_attributions(application, head=head))
    return [
        json.loads(to_json(export.record(notification, event)))
        for notification, event in read_events(application, EventFilter(), head=head, decode=True)
    ]


def _moment(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def _day(text: str) -> date:
    return _moment(text).date()


def _name(record: dict[str, Any]) -> str:
    return str(record["topic"]).rpartition(":")[2]


def _ratio(part: float, whole: float) -> float | None:
    return round(part / whole, 4) if whole else None


@dataclass
class History:
    """The log, as facts about users, days and characters."""

    signed_up: dict[str, date] = field(default_factory=dict)
    first_paid: dict[str, date] = field(default_factory=dict)
    active: dict[date, set[str]] = field(default_factory=lambda: defaultdict(set))
    sums: dict[tuple[str, date], dict[str, int]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(int))
    )
    replies: list[tuple[date, int, bool]] = field(default_factory=list)
    moods: list[tuple[str, date, int]] = field(default_factory=list)
    levels: list[tuple[str, date, int, int]] = field(default_factory=list)
    characters: dict[str, tuple[str, str, date]] = field(default_factory=dict)

    @classmethod
    def of(cls, records: list[dict[str, Any]]) -> History:
        history = cls()
        sessions: dict[str, tuple[str, datetime]] = {}
        for record in records:
            name, state, user = _name(record), record["state"], record["user_id"]
            day = _day(record["timestamp"])

            def add(counter: str, amount: int = 1, *, on: date = day, who: str = user) -> None:
                history.sums[who, on][counter] += amount

            if name == "User.Registered":
                history.signed_up[record["originator_id"]] = day
            elif name == "Session.Started":
                started = _moment(state["started_at"])
                sessions[record["originator_id"]] = (state["user_id"], started)
                history.active[started.date()].add(state["user_id"])
                add("sessions", on=started.date(), who=state["user_id"])
            elif name == "Session.Ended":
                who, started = sessions[record["originator_id"]]
                elapsed = max(_moment(state["ended_at"]) - started, timedelta(0))
                add("sessions_ended", on=started.date(), who=who)
                add(
                    "session_ms",
                    int(elapsed.total_seconds() * 1000),
                    on=started.date(),
                    who=who,
                )
            elif name in ("Conversation.UserMessageSent", "Conversation.VoiceMessageReceived"):
                history.active[day].add(user)
                add("messages")
            elif name in ("Conversation.CompanionReplied", "Conversation.ReplyRegenerated"):
                history.replies.append((day, int(state["latency_ms"]), bool(state["fallback"])))
            elif name == "Payment.Succeeded":
                add("revenue_yen", int(state["amount_yen"]))
                add("payments")
                history.first_paid.setdefault(user, day)
            elif name == "Subscription.Renewed":
                add("renewals")
                history.first_paid.setdefault(user, day)
            elif name == "Subscription.Requested":
                add("subscription_starts")
            elif name == "Subscription.Updated" and state["cancel_at_period_end"]:
                add("cancel_requests")
            elif name == "Subscription.Cancelled":
                add("cancellations")
            elif name == "Wallet.GemsCredited" and state["kind"] == "gem_pack":
                add("gems_bought", int(state["gems"]))
            elif name == "Wallet.GemsCredited" and state["kind"] == "subscription_bonus":
                add("gems_bonus", int(state["gems"]))
            elif name == "Wallet.ItemPurchased":
                add("gems_spent", int(state["gems"]))
                add("purchases")
            elif name == "EmotionState.MoodChanged":
                history.moods.append((record["character_id"], day, int(state["after"])))
            elif name == "Character.RelationshipLevelChanged":
                history.levels.append(
                    (record["originator_id"], day, int(state["before"]), int(state["after"]))
                )
            elif name == "Character.Created":
                history.characters[record["originator_id"]] = (
                    user,
                    state["persona"]["name"],
                    day,
                )
        return history

    def users_active(self, first: date, last: date) -> set[str]:
        found: set[str] = set()
        day = first
        while day <= last:
            found |= self.active.get(day, set())
            day += timedelta(days=1)
        return found

    def total(self, counter: str, first: date, last: date) -> int:
        return sum(v.get(counter, 0) for (_, day), v in self.sums.items() if first <= day <= last)


def band(mood: int) -> str:
    if mood < -60:
        return "very_low"
    if mood < -20:
        return "low"
    if mood <= 20:
        return "neutral"
    return "high" if mood <= 60 else "very_high"


def percentile(values: list[int], p: int) -> int | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]


def period(history: History, first: date, last: date, end: date) -> dict[str, Any]:
    """One period's KPIs, as the report's JSON shows them."""
    span = (last - first).days + 1
    days = [first + timedelta(days=n) for n in range(span)]
    active = history.users_active(first, last)
    dau = sum(len(history.active.get(day, set())) for day in days) / span
    mau = len(history.users_active(last - timedelta(days=29), last))
    previous = history.users_active(first - timedelta(days=span), first - timedelta(days=1))
    cohort = [user for user, day in history.signed_up.items() if first <= day <= last]
    sessions = history.total("sessions", first, last)
    revenue = history.total("revenue_yen", first, last)
    payers = {u for (u, d), v in history.sums.items() if first <= d <= last and v.get("payments")}

    def retention(n: int) -> float | None:
        eligible = [u for u in cohort if history.signed_up[u] + timedelta(days=n) <= end]
        kept = [
            u
            for u in eligible
            if u in history.active.get(history.signed_up[u] + timedelta(days=n), set())
        ]
        return _ratio(len(kept), len(eligible))

    latencies = [ms for day, ms, _ in history.replies if first <= day <= last]
    fallbacks = sum(1 for day, _, fell in history.replies if first <= day <= last and fell)
    moods = [mood for _, day, mood in history.moods if first <= day <= last]
    bands = dict.fromkeys(("very_low", "low", "neutral", "high", "very_high"), 0)
    for mood in moods:
        bands[band(mood)] += 1
    levels = [(b, a) for _, day, b, a in history.levels if first <= day <= last]
    lifetime = sum(
        v.get("revenue_yen", 0) for (u, d), v in history.sums.items() if u in cohort and d <= end
    )
    return {
        "start": first.isoformat(),
        "end": last.isoformat(),
        "new_users": len(cohort),
        "active_users": len(active),
        "dau": round(dau, 4),
        "wau": len(history.users_active(last - timedelta(days=6), last)),
        "mau": mau,
        "stickiness": _ratio(dau, mau),
        "sessions": sessions,
        "sessions_per_user": _ratio(sessions, len(active)),
        "session_seconds_mean": _ratio(
            history.total("session_ms", first, last) / 1000,
            history.total("sessions_ended", first, last),
        ),
        "messages": history.total("messages", first, last),
        "messages_per_session": _ratio(history.total("messages", first, last), sessions),
        "retention": {f"day{n}": retention(n) for n in (1, 7, 30)},
        "conversion": _ratio(
            sum(1 for u in cohort if u in history.first_paid and history.first_paid[u] <= end),
            len(cohort),
        ),
        "revenue_yen": revenue,
        "payers": len(payers),
        "arpu": _ratio(revenue, len(active)),
        "arppu": _ratio(revenue, len(payers)),
        "ltv": _ratio(lifetime, len(cohort)),
        "churn": _ratio(len(previous - active), len(previous)),
        "gems_bought": history.total("gems_bought", first, last),
        "gems_bonus": history.total("gems_bonus", first, last),
        "gems_spent": history.total("gems_spent", first, last),
        "purchases": history.total("purchases", first, last),
        "subscriptions_started": history.total("subscription_starts", first, last),
        "renewals": history.total("renewals", first, last),
        "cancel_requests": history.total("cancel_requests", first, last),
        "cancellations": history.total("cancellations", first, last),
        "replies": len(latencies),
        "latency_ms": {f"p{p}": percentile(latencies, p) for p in (50, 95, 99)},
        "fallback_rate": _ratio(fallbacks, len(latencies)),
        "mood_changes": len(moods),
        "mood_mean": _ratio(sum(moods), len(moods)),
        "mood_bands": bands,
        "level_ups": sum(1 for b, a in levels if a > b),
        "level_downs": sum(1 for b, a in levels if a < b),
    }


def characters(history: History, first: date, last: date) -> list[dict[str, Any]]:
    found = []
    ordered = sorted(history.characters.items(), key=lambda item: (item[1][2], item[0]))
    for character_id, (user, name, created) in ordered:
        if created > last:
            continue
        changes = [(d, b, a) for c, d, b, a in history.levels if c == character_id]
        before = [a for d, _, a in changes if d < first]
        within = [(b, a) for d, b, a in changes if first <= d <= last]
        start_level = before[-1] if before else 1
        moods = [(d, m) for c, d, m in history.moods if c == character_id and d <= last]
        moods_within = [m for d, m in moods if d >= first]
        found.append(
            {
                "character_id": character_id,
                "user_id": user,
                "name": name,
                "level_start": start_level,
                "level_end": within[-1][1] if within else start_level,
                "level_ups": sum(1 for b, a in within if a > b),
                "level_downs": sum(1 for b, a in within if a < b),
                "mood_changes": len(moods_within),
                "mood_mean": _ratio(sum(moods_within), len(moods_within)),
                "mood_end": moods[-1][1] if moods else None,
            }
        )
    return found


def insight(history: History, user: str, at: date) -> dict[str, Any]:
    """One user's engagement and churn risk over the 28 days up to `at`."""
    window = [at - timedelta(days=n) for n in range(28)]
    active_days = [day for day in window if user in history.active.get(day, set())]
    mine = {d: v for (u, d), v in history.sums.items() if u == user and d in window}
    messages = sum(v.get("messages", 0) for v in mine.values())
    ended = sum(v.get("sessions_ended", 0) for v in mine.values())
    minutes = (
        round(sum(v.get("session_ms", 0) for v in mine.values()) / 60_000 / ended, 2)
        if ended
        else None
    )
    ever = [d for d, users in history.active.items() if user in users and d <= at]
    signed = history.signed_up[user]
    silence = max(0, (at - max(max(ever, default=signed), signed)).days)
    recent = sum(1 for d in active_days if d > at - timedelta(days=14))
    earlier = len(active_days) - recent
    decline = max(0.0, (earlier - recent) / earlier) if earlier else 0.0
    risk = round(0.7 * (1 - math.exp(-silence / 7)) + 0.3 * decline, 3)
    score = (
        0.5 * min(1.0, len(active_days) / 28)
        + 0.3 * min(1.0, messages / 280)
        + 0.2 * min(1.0, (minutes or 0.0) / 30)
    )
    return {
        "user_id": user,
        "signed_up": signed.isoformat(),
        "active_days": len(active_days),
        "messages": messages,
        "sessions": sum(v.get("sessions", 0) for v in mine.values()),
        "session_minutes_mean": minutes,
        "days_since_active": silence,
        "engagement": round(100 * score, 1),
        "churn_risk": risk,
        "risk": "low" if risk < 0.3 else "medium" if risk < 0.6 else "high",
    }
