"""Play a synthetic population through the real use cases, on the simulation's clock.

Sign-ups, characters, sessions and chat turns (the offline model answers),
characters' daily lives, gem packs and items, and subscriptions through the
sandbox gateway — renewed at each period's end and ended after a cancellation
with the events the provider would send. The same seed gives the same log,
but for the ids the use cases draw at random and the reply latencies measured.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from uuid import NAMESPACE_URL, UUID, uuid5

from companion.app.bootstrap import Companion
from companion.app.daily_life import feel_neglect, live_day
from companion.app.demo.clock import SimulatedClock, events_stamped_by
from companion.app.demo.population import Profile, Step, day_steps, profiles
from companion.domain.characters import Persona
from companion.domain.errors import DomainError
from companion.domain.payments import GatewayEvent, SubscriptionState

PASSWORD = "demo-password-1234"
"""Every synthetic user's password."""
DEFAULT_START = date(2026, 1, 1)
PERIOD_SECONDS = 30 * 24 * 3600
"""A subscription's period, as the payments sandbox makes it: a month."""


@dataclass(frozen=True)
class SeedSummary:
    users: int
    days: int
    steps: int
    events: int
    """Events the seeding appended."""


@dataclass
class _Person:
    profile: Profile
    user_id: UUID | None = None
    character_id: UUID | None = None
    session_id: UUID | None = None
    subscribed_on: int | None = None


@dataclass
class _Seeding:
    companion: Companion
    clock: SimulatedClock
    ids: random.Random
    seed: int
    people: dict[int, _Person] = field(default_factory=dict)
    day: int = 0
    """The simulation's day being played."""

    def play(self, step: Step) -> None:
        person = self.people[step.ordinal]
        if step.kind == "sign_up":
            self._sign_up(person)
            return
        user_id, character_id = person.user_id, person.character_id
        if user_id is None or character_id is None:
            return
        if step.kind == "session_start":
            person.session_id = self.companion.sessions.start_session(
                user_id=user_id, device="demo"
            )
        elif step.kind == "session_end" and person.session_id is not None:
            self.companion.sessions.end_session(person.session_id)
            person.session_id = None
        elif step.kind == "message":
            self.companion.chat.send_message(
                user_id=user_id, character_id=character_id, text=step.value
            )
        else:
            self._pay(person, step, user_id, character_id)

    def _sign_up(self, person: _Person) -> None:
        profile = person.profile
        person.user_id = self.companion.accounts.register(
            email=profile.email,
            password=PASSWORD,
            name=f"Demo user {profile.ordinal}",
            nickname=f"user{profile.ordinal}",
            timezone=profile.timezone,
        )
        persona = Persona.parse(
            name=profile.character,
            nickname=profile.character,
            gender="girlfriend" if profile.ordinal % 2 else "boyfriend",
            age=20 + profile.ordinal % 15,
            personality=profile.personality,
            occupation=profile.occupation,
        )
        # An id drawn from the seed: the character's days are drawn from its id, and the
        # same seed must give the same days.
        person.character_id, _ = self.companion.characters.create_character(
            user_id=person.user_id,
            persona=persona,
            character_id=uuid5(NAMESPACE_URL, f"companion-demo:{self.seed}:{profile.ordinal}"),
        )

    def _pay(self, person: _Person, step: Step, user_id: UUID, character_id: UUID) -> None:
        try:
            if step.kind == "buy_gems":
                self.companion.payments.checkout(user_id=user_id, pack_id=step.value)
            elif step.kind == "buy_item":
                self.companion.commerce.purchase(
                    user_id=user_id,
                    item_id=self.companion.commerce.item_id(step.value),
                    character_id=character_id,
                    idempotency_key=f"demo-{step.ordinal}-{step.value}",
                )
            elif step.kind == "subscribe" and person.subscribed_on is None:
                self.companion.payments.subscribe(user_id=user_id, tier=step.value)
                person.subscribed_on = self.day
        except DomainError:
            pass  # not enough gems, already owned, already subscribed: as a person would

    def start_of_day(self, day: int, midnight: datetime) -> None:
        """What happens before anyone is up: the characters' days, and the subscriptions'
        periods ending (renewed, or ended after a cancellation)."""
        seed = self.companion.settings.daily_life_seed
        for person in self.people.values():
            if person.character_id is None or person.user_id is None:
                continue
            self.clock.move_to(midnight + timedelta(minutes=5))
            live_day(
                self.companion.uow, character_id=person.character_id, now=self.clock(), seed=seed
            )
            feel_neglect(self.companion.uow, character_id=person.character_id, now=self.clock())
            if person.subscribed_on is not None:
                self._subscription_day(person, person.user_id, day)

    def _subscription_day(self, person: _Person, user_id: UUID, day: int) -> None:
        payments = self.companion.payments
        subscription = payments.subscription(user_id)
        if subscription is None or not subscription.live:
            return
        cancels = person.profile.cancels_after
        if (
            cancels is not None
            and not subscription.cancel_at_period_end
            and day - (person.subscribed_on or 0) >= cancels
        ):
            payments.cancel(user_id=user_id)
            subscription = payments.subscription(user_id)
            if subscription is None:
                return
        period_end = subscription.current_period_end
        if period_end is None or period_end > self.clock.seconds():
            return
        ending = subscription.cancel_at_period_end
        state = SubscriptionState(
            subscription_id=subscription.provider_subscription_id or "",
            status="canceled" if ending else "active",
            tier=subscription.tier,
            cancel_at_period_end=ending,
            current_period_end=period_end if ending else period_end + PERIOD_SECONDS,
            customer_id=subscription.customer_id,
        )
        payments.apply(
            GatewayEvent(
                provider="sandbox",
                event_id=f"sandbox_evt_{self._id()}",
                kind="subscription_deleted" if ending else "invoice_paid",
                type="customer.subscription.deleted" if ending else "invoice.paid",
                created=int(self.clock.seconds()),
                user_id=user_id,
                subscription=state,
                invoice_id=None if ending else f"sandbox_in_{self._id()}",
                sandbox=True,
            )
        )

    def _id(self) -> str:
        return f"{self.ids.getrandbits(128):032x}"


def seed_population(
    companion: Companion,
    clock: SimulatedClock,
    *,
    users: int,
    days: int,
    seed: int,
    start: date = DEFAULT_START,
    progress: Callable[[int, int], None] | None = None,
) -> SeedSummary:
    """Seed `users` synthetic users over `days` days from `start` (UTC), drawn from `seed`.

    The companion must have been made with `clock` (bootstrap(clock=…)), so that
    the use cases and the sandbox gateway see the simulation's time; every event
    appended meanwhile carries it as its timestamp. `progress` is told
    (days done, days) after each day.
    """
    rng = random.Random(f"companion-demo:{seed}")
    seeding = _Seeding(companion, clock, random.Random(f"companion-demo-ids:{seed}"), seed)
    people = profiles(users, days, rng, seed)
    seeding.people = {profile.ordinal: _Person(profile) for profile in people}
    head = companion.runner.head()
    played = 0
    with events_stamped_by(clock):
        clock.move_to(datetime.combine(start, time(), UTC))
        companion.commerce.load_default_catalogue()
        for day in range(days):
            midnight = datetime.combine(start + timedelta(days=day), time(), UTC)
            seeding.day = day
            seeding.start_of_day(day, midnight)
            for step in day_steps(people, day, start, rng):
                clock.move_to(step.at)
                seeding.play(step)
                played += 1
            if progress is not None:
                progress(day + 1, days)
    return SeedSummary(users, days, played, companion.runner.head() - head)
