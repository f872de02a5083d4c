from __future__ import annotations

import json
import math
from typing import Any
from uuid import uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from companion.domain.characters import (
    TRAITS,
    Character,
    ImportedCard,
    Persona,
    Personality,
)
from companion.domain.errors import CharacterNotFound, InvalidInput
from companion.domain.limits import MAX_AGE, MAX_HOBBIES, MIN_AGE
from tests.support.mapper import mapper
from tests.support.personas import PERSONA_INPUT, persona_input

weights = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
personalities = st.fixed_dictionaries(dict.fromkeys(TRAITS, weights))


def test_a_valid_persona_is_parsed_and_trimmed() -> None:
    persona = Persona.parse(**persona_input(name="  Haruto Sato ", hobbies=[" hiking "]))

    assert persona.name == "Haruto Sato"
    assert persona.gender == "boyfriend"
    assert persona.age == 27
    assert persona.hobbies == ("hiking",)
    assert persona.personality == Personality(**PERSONA_INPUT["personality"])


def test_optional_fields_default_to_empty() -> None:
    fields = {k: v for k, v in PERSONA_INPUT.items() if k not in ("occupation", "hobbies")}

    persona = Persona.parse(**fields, occupation="   ")

    assert persona.occupation is None
    assert persona.hobbies == ()
    assert persona.backstory is None


@pytest.mark.parametrize("age", [MIN_AGE, MAX_AGE])
def test_the_youngest_and_oldest_ages_are_accepted(age: int) -> None:
    assert Persona.parse(**persona_input(age=age)).age == age


@pytest.mark.parametrize("age", [17, 101, 0, -1, 20.0, "20", None, True, False])
def test_an_age_that_is_not_a_whole_number_from_18_to_100_is_rejected(age: Any) -> None:
    with pytest.raises(InvalidInput) as raised:
        Persona.parse(**persona_input(age=age))

    assert raised.value.field == "age"


@pytest.mark.parametrize("gender", ["", "friend", "Boyfriend", "GIRLFRIEND", None])
def test_a_gender_other_than_boyfriend_or_girlfriend_is_rejected(gender: Any) -> None:
    with pytest.raises(InvalidInput) as raised:
        Persona.parse(**persona_input(gender=gender))

    assert raised.value.field == "gender"


@pytest.mark.parametrize(
    "weight", [-0.01, 1.01, math.nan, math.inf, -math.inf, "0.5", None, True, False]
)
@pytest.mark.parametrize("trait", TRAITS)
def test_a_personality_weight_outside_zero_to_one_is_rejected(trait: str, weight: Any) -> None:
    personality = {**PERSONA_INPUT["personality"], trait: weight}

    with pytest.raises(InvalidInput) as raised:
        Persona.parse(**persona_input(personality=personality))

    assert raised.value.field == f"personality.{trait}"


def test_a_missing_trait_is_rejected() -> None:
    personality = {k: v for k, v in PERSONA_INPUT["personality"].items() if k != "empathy"}

    with pytest.raises(InvalidInput, match="missing trait"):
        Persona.parse(**persona_input(personality=personality))


def test_an_unknown_trait_is_rejected() -> None:
    personality = {**PERSONA_INPUT["personality"], "jealousy": 0.9}

    with pytest.raises(InvalidInput, match="unknown trait"):
        Persona.parse(**persona_input(personality=personality))


@pytest.mark.parametrize(
    "hobbies", ["hiking", ["x"] * (MAX_HOBBIES + 1), ["hiking", ""], ["h" * 51], [3]]
)
def test_hobbies_that_are_not_a_short_list_of_short_texts_are_rejected(hobbies: Any) -> None:
    with pytest.raises(InvalidInput):
        Persona.parse(**persona_input(hobbies=hobbies))


@given(personality=personalities)
def test_any_weights_in_zero_to_one_parse_and_survive_a_round_trip(
    personality: dict[str, float],
) -> None:
    persona = Persona.parse(**persona_input(personality=personality))

    assert Persona.from_state(persona.to_state()) == persona
    assert {trait: getattr(persona.personality, trait) for trait in TRAITS} == personality


@given(personality=personalities)
def test_the_dominant_trait_has_the_highest_weight(personality: dict[str, float]) -> None:
    dominant = Personality.parse(personality).dominant()

    assert personality[dominant] == max(personality.values())
    assert dominant == next(t for t in TRAITS if personality[t] == max(personality.values()))


def test_a_persona_state_is_plain_data() -> None:
    state = Persona.parse(**PERSONA_INPUT).to_state()

    assert state["hobbies"] == ["hiking", "coffee"]
    assert state["personality"] == PERSONA_INPUT["personality"]


# -- the aggregate -------------------------------------------------------------


def new_character(owner_id: Any = None) -> Character:
    return Character.create(
        character_id=uuid4(), owner_id=owner_id or uuid4(), persona=Persona.parse(**PERSONA_INPUT)
    )


def test_a_character_is_visible_to_its_owner() -> None:
    owner_id = uuid4()
    character = new_character(owner_id)

    character.ensure_owned_by(owner_id)


def test_another_users_character_is_reported_as_not_found() -> None:
    character = new_character()

    with pytest.raises(CharacterNotFound):
        character.ensure_owned_by(uuid4())


def test_updating_to_the_same_persona_records_nothing() -> None:
    character = new_character()
    character.collect_events()

    character.update_persona(Persona.parse(**PERSONA_INPUT))

    assert character.collect_events() == []


@pytest.mark.parametrize("level", [0, 11, True])
def test_a_relationship_level_outside_one_to_ten_is_rejected(level: Any) -> None:
    character = new_character()

    with pytest.raises(InvalidInput):
        character.change_relationship_level(level, reason="test")

    assert character.relationship_level == 1


def test_a_character_rebuilt_from_its_events_equals_the_live_character(replay: Any) -> None:
    character = new_character()
    character.update_persona(Persona.parse(**persona_input(nickname="Haru-kun", age=28)))
    character.change_relationship_level(3, reason="ten conversations")
    character.equip("outfit", uuid4())
    character.equip("outfit", uuid4())

    rebuilt = replay(character.collect_events())

    assert rebuilt.__dict__ == character.__dict__
    assert rebuilt.persona.nickname == "Haru-kun"
    assert rebuilt.relationship_level == 3


# -- a character from a character card ---------------------------------------------------

CARD_FIELDS_INPUT: dict[str, Any] = {
    "personality_text": "cheerful, kind",
    "scenario": "A rainy afternoon at the shop.",
    "first_message": "Welcome in!",
    "alternate_greetings": ["Hi again!"],
    "example_dialogues": "<START>\n{{user}}: Hi\n{{char}}: Hello!",
    "tags": ["romance"],
    "creator_notes": "Slow burn.",
    "knowledge": [
        {"keys": ["Kenji"], "content": "Kenji is her brother."},
        {"keys": [], "content": "She has a cat.", "constant": True},
    ],
}


def test_a_persona_without_a_cards_fields_keeps_the_state_it_always_had() -> None:
    state = Persona.parse(**PERSONA_INPUT).to_state()

    assert set(state) == {
        "name",
        "nickname",
        "gender",
        "age",
        "personality",
        "occupation",
        "hobbies",
        "backstory",
    }
    assert Persona.from_state(state) == Persona.parse(**PERSONA_INPUT)


def test_a_persona_with_a_cards_fields_round_trips_through_its_state() -> None:
    persona = Persona.parse(**PERSONA_INPUT, **CARD_FIELDS_INPUT)

    state = persona.to_state()

    assert state["knowledge"][1] == {"keys": [], "content": "She has a cat.", "constant": True}
    assert state["alternate_greetings"] == ["Hi again!"]
    assert Persona.from_state(json.loads(json.dumps(state))) == persona


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"tags": "romance"}, "tags"),
        ({"alternate_greetings": ["x" * 4001]}, "alternate_greetings[0]"),
        ({"knowledge": [{"keys": ["k"]}]}, "knowledge[0].content"),
        ({"knowledge": ["text"]}, "knowledge[0]"),
        (
            {"knowledge": [{"keys": ["k"], "content": "c", "constant": "yes"}]},
            "knowledge[0].constant",
        ),
    ],
)
def test_a_cards_fields_that_break_the_rules_are_rejected(
    change: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidInput) as raised:
        Persona.parse(**PERSONA_INPUT, **change)

    assert raised.value.field == field


def test_an_imported_character_keeps_what_its_persona_does_not_hold(replay: Any) -> None:
    persona = Persona.parse(**PERSONA_INPUT, **CARD_FIELDS_INPUT)
    character = Character.import_card(
        character_id=uuid4(),
        owner_id=uuid4(),
        persona=persona,
        card='{"creator": "someone"}',
        spec="chara_card_v3",
        image="ab" * 32,
    )

    events = character.collect_events()

    assert [type(e).__name__ for e in events] == ["Created", "CardImported"]
    rebuilt = replay(events)
    assert rebuilt.persona == persona
    assert rebuilt.imported_card == ImportedCard(
        card='{"creator": "someone"}', spec="chara_card_v3", image="ab" * 32
    )
    assert new_character().imported_card is None


def test_a_card_imported_event_reads_back_from_the_store() -> None:
    character = Character.import_card(
        character_id=uuid4(),
        owner_id=uuid4(),
        persona=Persona.parse(**PERSONA_INPUT),
        card='{"extensions": {"_type_": "x", "_data_": 1}}',
        spec="chara_card_v2",
        image=None,
    )
    stored_mapper = mapper()

    events = [
        stored_mapper.to_domain_event(stored_mapper.to_stored_event(e))
        for e in character.collect_events()
    ]

    assert isinstance(events[1], Character.CardImported)
    assert events[1].card == '{"extensions": {"_type_": "x", "_data_": 1}}'
