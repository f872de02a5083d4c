"""The tier table: what free, premium and ultimate users may do."""

from __future__ import annotations

import pytest

from companion.domain.entitlements import (
    TABLE,
    TIERS,
    ensure_premium_items,
    ensure_voice,
    entitlements,
    may_send_message,
    memories_over_capacity,
)
from companion.domain.errors import InvalidInput, TierRequired
from companion.domain.users import TIERS as USER_TIERS


def test_every_tier_of_a_user_has_entitlements() -> None:
    assert set(TABLE) == set(TIERS) == set(USER_TIERS)
    assert all(TABLE[tier].tier == tier for tier in TIERS)


def test_a_higher_tier_never_gets_less() -> None:
    free, premium, ultimate = (entitlements(t) for t in ("free", "premium", "ultimate"))
    for lower, higher in ((free, premium), (premium, ultimate)):
        assert higher.messages_per_minute > lower.messages_per_minute
        assert higher.memory_capacity > lower.memory_capacity
        assert higher.monthly_bonus_gems > lower.monthly_bonus_gems
        assert higher.premium_items >= lower.premium_items
        assert higher.voice >= lower.voice
        assert higher.messages_per_day is None or (
            lower.messages_per_day is not None and higher.messages_per_day > lower.messages_per_day
        )


def test_premium_items_and_voice_need_a_paying_tier() -> None:
    with pytest.raises(TierRequired):
        ensure_premium_items("free")
    with pytest.raises(TierRequired):
        ensure_voice("free")
    for tier in ("premium", "ultimate"):
        ensure_premium_items(tier)
        ensure_voice(tier)


def test_message_rate_limits_per_tier() -> None:
    assert may_send_message("free", sent_last_minute=9, sent_today=99)
    assert not may_send_message("free", sent_last_minute=10, sent_today=0)
    assert not may_send_message("free", sent_last_minute=0, sent_today=100)
    assert may_send_message("premium", sent_last_minute=29, sent_today=999)
    assert may_send_message("ultimate", sent_last_minute=59, sent_today=10**6)
    assert not may_send_message("ultimate", sent_last_minute=60, sent_today=0)


def test_memory_capacity_per_tier() -> None:
    assert memories_over_capacity("free", 150) == 50
    assert memories_over_capacity("premium", 150) == 0
    assert memories_over_capacity("ultimate", 10001) == 1


def test_an_unknown_tier_is_refused() -> None:
    with pytest.raises(InvalidInput):
        entitlements("platinum")
