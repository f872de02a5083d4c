"""What each subscription tier entitles a user to, decided here and nowhere else.

| entitlement              | free | premium | ultimate |
|--------------------------|------|---------|----------|
| messages per minute      | 10   | 30      | 60       |
| messages per day         | 100  | 1000    | unlimited|
| premium store items      | no   | yes     | yes      |
| memories kept            | 100  | 1000    | 10000    |
| voice replies            | no   | yes     | yes      |
| custom voice packs       | no   | no      | yes      |
| monthly bonus gems       | 0    | 300     | 1000     |
"""

from __future__ import annotations

from dataclasses import dataclass

from companion.domain.errors import InvalidInput, TierRequired

TIERS = ("free", "premium", "ultimate")
PAYING_TIERS = ("premium", "ultimate")


@dataclass(frozen=True)
class Entitlements:
    tier: str
    messages_per_minute: int
    messages_per_day: int | None
    """None: no daily limit."""
    premium_items: bool
    memory_capacity: int
    voice: bool
    custom_voice_packs: bool
    monthly_bonus_gems: int


TABLE: dict[str, Entitlements] = {
    "free": Entitlements(
        tier="free",
        messages_per_minute=10,
        messages_per_day=100,
        premium_items=False,
        memory_capacity=100,
        voice=False,
        custom_voice_packs=False,
        monthly_bonus_gems=0,
    ),
    "premium": Entitlements(
        tier="premium",
        messages_per_minute=30,
        messages_per_day=1000,
        premium_items=True,
        memory_capacity=1000,
        voice=True,
        custom_voice_packs=False,
        monthly_bonus_gems=300,
    ),
    "ultimate": Entitlements(
        tier="ultimate",
        messages_per_minute=60,
        messages_per_day=None,
        premium_items=True,
        memory_capacity=10000,
        voice=True,
        custom_voice_packs=True,
        monthly_bonus_gems=1000,
    ),
}


def entitlements(tier: str) -> Entitlements:
    """The entitlements of a tier, or InvalidInput for an unknown one."""
    try:
        return TABLE[tier]
    except KeyError:
        raise InvalidInput("tier", f"must be one of {', '.join(TIERS)}") from None


def ensure_premium_items(tier: str) -> None:
    """Premium items (buying or wearing them) need a paying tier."""
    if not entitlements(tier).premium_items:
        raise TierRequired("this item needs a premium or ultimate subscription")


def may_send_message(tier: str, *, sent_last_minute: int, sent_today: int) -> bool:
    """Whether one more message fits in the tier's rate limits."""
    rights = entitlements(tier)
    if sent_last_minute >= rights.messages_per_minute:
        return False
    return rights.messages_per_day is None or sent_today < rights.messages_per_day


def ensure_voice(tier: str) -> None:
    if not entitlements(tier).voice:
        raise TierRequired("voice needs a premium or ultimate subscription")


def memories_over_capacity(tier: str, memories: int) -> int:
    """How many memories exceed the tier's capacity (the oldest or least important go)."""
    return max(0, memories - entitlements(tier).memory_capacity)
