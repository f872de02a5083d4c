"""The relationship policy: kindness sustained raises the level, neglect and hurt lower it."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from companion.domain.characters import MAX_RELATIONSHIP_LEVEL
from companion.domain.relationship import (
    HYSTERESIS,
    LEVEL_THRESHOLDS,
    NEGLECT_GRACE,
    level_for,
    neglected,
    next_bond,
    next_level,
    relationship_change,
    speaking_style,
)
from companion.domain.sentiment import Sentiment

bonds = st.floats(min_value=0, max_value=500, allow_nan=False)
levels = st.integers(1, MAX_RELATIONSHIP_LEVEL)
scores = st.floats(min_value=-1, max_value=1, allow_nan=False)
silences = st.one_of(st.none(), st.timedeltas(timedelta(0), timedelta(days=120)))
KIND = Sentiment(0.8, (("affection", 0.5),))


@given(levels, bonds)
def test_the_level_stays_in_range(current: int, bond: float) -> None:
    assert 1 <= next_level(current, bond) <= MAX_RELATIONSHIP_LEVEL


@given(levels, bonds, bonds)
def test_more_bond_never_means_a_lower_level(current: int, one: float, other: float) -> None:
    low, high = sorted((one, other))
    assert next_level(current, low) <= next_level(current, high)


@given(bonds, scores, scores, silences)
def test_a_kinder_message_never_leaves_less_bond(
    bond: float, one: float, other: float, silence: timedelta | None
) -> None:
    low, high = sorted((one, other))
    assert next_bond(bond, Sentiment(low), silence) <= next_bond(bond, Sentiment(high), silence)
    assert next_bond(bond, Sentiment(low), silence) >= 0


@given(
    bonds,
    st.timedeltas(timedelta(0), timedelta(days=365)),
    st.timedeltas(timedelta(0), timedelta(days=30)),
)
def test_neglect_only_ever_takes_bond_away(
    bond: float, silence: timedelta, more: timedelta
) -> None:
    assert neglected(bond, silence + more) <= neglected(bond, silence) <= bond
    assert neglected(bond, min(silence, NEGLECT_GRACE)) == bond


def test_sustained_kindness_raises_the_level() -> None:
    bond, level, changes = 0.0, 1, []
    for _ in range(10):
        before, bond = bond, next_bond(bond, KIND, timedelta(hours=2))
        change = relationship_change(
            current=level, bond_before=before, bond_after=bond, silence=timedelta(hours=2)
        )
        if change is not None:
            level = change.level
            changes.append(change)
    assert level >= 3
    assert all("closer" in c.reason for c in changes)


def test_one_sharp_word_does_not_undo_a_level() -> None:
    bond = LEVEL_THRESHOLDS[2] + 0.5  # just into level 3
    after = next_bond(bond, Sentiment(-0.5), timedelta(hours=1))
    assert (
        relationship_change(
            current=3, bond_before=bond, bond_after=after, silence=timedelta(hours=1)
        )
        is None
    )


def test_a_level_is_lost_only_past_the_hysteresis() -> None:
    level_three = LEVEL_THRESHOLDS[2]
    assert next_level(3, level_three - HYSTERESIS + 0.01) == 3
    assert next_level(3, level_three - HYSTERESIS - 0.01) == 2
    assert next_level(3, 0.0) == 1


def test_a_long_silence_lowers_the_level_and_says_why() -> None:
    bond = LEVEL_THRESHOLDS[4] + 1  # level 5
    silence = timedelta(days=20)
    after = next_bond(bond, Sentiment(0.0), silence)
    change = relationship_change(current=5, bond_before=bond, bond_after=after, silence=silence)
    assert change is not None
    assert change.level < 5
    assert change.reason == "drifted apart after 20 days without a word"


def test_hurtful_words_can_lower_the_level() -> None:
    bond = LEVEL_THRESHOLDS[1] + 0.5  # level 2
    for _ in range(3):
        bond = next_bond(bond, Sentiment(-0.9), timedelta(minutes=5))
    change = relationship_change(
        current=2, bond_before=5.0, bond_after=bond, silence=timedelta(minutes=5)
    )
    assert change is not None
    assert change.level == 1
    assert "hurtful" in change.reason


def test_each_level_has_a_way_of_speaking() -> None:
    styles = {speaking_style(level) for level in range(1, MAX_RELATIONSHIP_LEVEL + 1)}
    assert len(styles) == 4
    assert level_for(0) == 1
