"""Expression mapping: every mood has a face, parameters stay in range, a transition of 1 s."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from companion.domain.emotion import MAX_MOOD, MIN_MOOD
from companion.domain.expression import (
    EXPRESSIONS,
    PARAMETERS,
    RANGES,
    expression_for,
    expression_of_change,
    parameters,
)
from companion.domain.sentiment import EMOTIONS

moods = st.integers(min_value=MIN_MOOD, max_value=MAX_MOOD)
emotions = st.dictionaries(st.sampled_from(EMOTIONS), st.floats(0, 1, allow_nan=False), max_size=4)


@given(moods, emotions, st.booleans())
def test_every_state_has_a_named_expression_with_parameters_in_range(
    mood: int, felt: dict[str, float], sleepy: bool
) -> None:
    expression = expression_for(mood, emotions=felt, sleepy=sleepy)
    assert expression.name in EXPRESSIONS
    assert set(expression.parameters) == set(PARAMETERS)
    for name, value in expression.parameters.items():
        low, high = RANGES[name]
        assert low <= value <= high
    assert (expression.transition_ms, expression.easing) == (1000, "ease-in-out")


@given(st.sampled_from(EXPRESSIONS), moods, moods)
def test_a_better_mood_never_smiles_less(name: str, one: int, other: int) -> None:
    low, high = sorted((one, other))
    assert parameters(name, low)["mouth_form"] <= parameters(name, high)["mouth_form"]  # type: ignore[arg-type]


def test_the_mood_alone_picks_the_face() -> None:
    assert [expression_for(m).name for m in (90, 50, 0, -30, -80)] == [
        "joyful",
        "happy",
        "neutral",
        "sad",
        "angry",
    ]


def test_what_the_user_said_can_make_the_face_more_specific() -> None:
    assert expression_for(50, emotions={"affection": 0.8}).name == "loving"
    assert expression_for(10, emotions={"affection": 0.8}).name == "shy"
    assert expression_for(0, emotions={"sadness": 0.7}).name == "worried"
    assert expression_for(-10, emotions={"anger": 0.9}).name == "angry"
    assert expression_for(20, emotions={"surprise": 0.9}).name == "surprised"
    assert expression_for(20, emotions={"surprise": 0.2}).name == "neutral"


def test_the_small_hours_make_a_calm_face_sleepy() -> None:
    night = [{"type": "time", "influence": -3.0, "description": "Sleepy in the small hours"}]
    day = [{"type": "time", "influence": 1.5, "description": "A relaxed evening"}]
    assert expression_of_change(10, night).name == "sleepy"
    assert expression_of_change(10, day).name == "neutral"
    assert expression_of_change(80, night).name == "joyful"


def test_a_smile_shows_in_the_parameters() -> None:
    happy, sad = expression_for(60).parameters, expression_for(-40).parameters
    assert happy["mouth_form"] > 0 > sad["mouth_form"]
    assert happy["eye_smile"] > sad["eye_smile"]
    assert sad["brow_angle"] < 0
