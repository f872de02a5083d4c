"""Who the synthetic users are and what each of them does each day: drawn from a seed.

Pure: the same seed, users and days give the same people and the same days,
step for step. Nothing here touches the store; `seeding` plays the steps.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

from companion.app.demo.lines import LINES, Feeling, Language

Payer = Literal["none", "gems", "subscriber"]

ITEMS = ("round-glasses", "short-bob", "shy-smiles", "casual-hoodie", "long-waves")
"""Items any character may wear from level 1, cheapest first."""
PACKS = ("gems-100", "gems-550", "gems-1200")
NAMES = ("Haruto", "Ren", "Yui", "Sora", "Mio", "Kaito", "Hana", "Riku")
OCCUPATIONS = ("barista", "student", "nurse", "designer", "teacher", "musician")


@dataclass(frozen=True)
class Profile:
    """One synthetic user: when they sign up, how they talk, and whether they pay."""

    ordinal: int
    seed: int
    signup_day: int
    signup_at: time
    language: Language
    activity: float
    """The chance that they come back on a given day."""
    chattiness: int
    """The most messages they send in one session."""
    warmth: float
    """How often what they say is warm rather than low (the rest is plain)."""
    quiet_after: int | None
    """The day from which they never come back (None: they stay)."""
    payer: Payer
    pays_on: int
    """Days after sign-up before they may first pay (a subscriber subscribes on the first
    day they come back from then on)."""
    tier: str
    cancels_after: int | None
    """Days into a subscription when they cancel it (None: they keep it)."""
    character: str
    occupation: str
    personality: dict[str, float]

    @property
    def email(self) -> str:
        return f"s{self.seed}-user{self.ordinal:05d}@demo.example.org"

    @property
    def timezone(self) -> str:
        return "Asia/Tokyo" if self.language == "ja" else "UTC"


@dataclass(frozen=True)
class Step:
    """One thing one user does at one moment of the simulation."""

    at: datetime
    ordinal: int
    kind: Literal[
        "sign_up", "session_start", "message", "session_end", "buy_gems", "buy_item", "subscribe"
    ]
    value: str = ""
    """The message's text, the pack's or the item's slug, or the tier."""


def profiles(users: int, days: int, rng: random.Random, seed: int) -> list[Profile]:
    """The population, in sign-up order drawn from `rng`."""
    people = []
    for ordinal in range(users):
        signup_day = rng.randrange(days)
        activity = rng.uniform(0.2, 0.95)
        quiet = rng.random() < 0.3
        payer_roll = rng.random()
        payer: Payer = (
            "subscriber" if payer_roll < 0.15 else "gems" if payer_roll < 0.35 else "none"
        )
        people.append(
            Profile(
                ordinal=ordinal,
                seed=seed,
                signup_day=signup_day,
                signup_at=time(rng.randrange(24), rng.randrange(60)),
                language=rng.choice(("en", "ja")),
                activity=activity,
                chattiness=rng.randint(2, 8),
                warmth=rng.uniform(0.3, 0.8),
                quiet_after=signup_day + rng.randint(1, max(1, days // 2)) if quiet else None,
                payer=payer,
                pays_on=rng.randint(0, 6),
                tier="ultimate" if rng.random() < 0.3 else "premium",
                cancels_after=rng.randint(5, 45) if rng.random() < 0.5 else None,
                character=rng.choice(NAMES),
                occupation=rng.choice(OCCUPATIONS),
                personality={
                    trait: round(rng.uniform(0.1, 0.9), 2)
                    for trait in ("kindness", "humor", "seriousness", "activeness", "empathy")
                },
            )
        )
    return people


def day_steps(people: list[Profile], day: int, start: date, rng: random.Random) -> list[Step]:
    """Everything the population does on the simulation's `day`, in time order."""
    midnight = datetime.combine(start + timedelta(days=day), time(), UTC)
    steps: list[Step] = []
    for person in people:
        if day < person.signup_day or (
            person.quiet_after is not None and day >= person.quiet_after
        ):
            continue
        signing_up = day == person.signup_day
        if not signing_up and rng.random() >= person.activity:
            continue
        first = midnight + timedelta(hours=person.signup_at.hour, minutes=person.signup_at.minute)
        if signing_up:
            steps.append(Step(first, person.ordinal, "sign_up"))
            starts = [first + timedelta(minutes=rng.randrange(1, 10))]
        else:
            hours = sorted(rng.sample(range(7, 24), rng.randint(1, 2)))
            starts = [midnight + timedelta(hours=h, minutes=rng.randrange(60)) for h in hours]
        for at in starts:
            steps.extend(_session(person, at, rng))
        age = day - person.signup_day
        pay_at = starts[-1] + timedelta(minutes=5)
        if person.payer == "gems" and age >= person.pays_on and rng.random() < 0.4:
            steps.append(Step(pay_at, person.ordinal, "buy_gems", rng.choice(PACKS)))
            steps.append(Step(pay_at, person.ordinal, "buy_item", rng.choice(ITEMS)))
        elif person.payer == "subscriber" and age >= person.pays_on:
            steps.append(Step(pay_at, person.ordinal, "subscribe", person.tier))
    steps.sort(key=lambda step: (step.at, step.ordinal))
    return steps


def _session(person: Profile, at: datetime, rng: random.Random) -> list[Step]:
    steps = [Step(at, person.ordinal, "session_start")]
    for _ in range(rng.randint(1, person.chattiness)):
        at += timedelta(seconds=rng.randint(20, 240))
        steps.append(Step(at, person.ordinal, "message", _line(person, rng)))
    at += timedelta(seconds=rng.randint(30, 600))
    steps.append(Step(at, person.ordinal, "session_end"))
    return steps


def _line(person: Profile, rng: random.Random) -> str:
    roll = rng.random()
    feeling: Feeling = "warm" if roll < person.warmth else "low" if roll < 0.9 else "plain"
    return rng.choice(LINES[person.language][feeling])
