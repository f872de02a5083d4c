"""Characters: the persona a user talks to."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from companion.domain import validation
from companion.domain.card_fields import CARD_FIELDS, Lore, card_fields
from companion.domain.emotion import baseline
from companion.domain.errors import CharacterNotFound, InvalidInput
from companion.domain.expression import mood_expression
from companion.domain.frozen_policies import baseline_v1, mood_expression_v1
from companion.domain.limits import (
    MAX_AGE,
    MAX_BACKSTORY_CHARS,
    MAX_HOBBIES,
    MAX_HOBBY_CHARS,
    MAX_NAME_CHARS,
    MAX_NICKNAME_CHARS,
    MAX_OCCUPATION_CHARS,
    MIN_AGE,
)

Gender = Literal["boyfriend", "girlfriend"]
GENDERS: tuple[Gender, ...] = ("boyfriend", "girlfriend")
TRAITS = ("kindness", "humor", "seriousness", "activeness", "empathy")
MAX_RELATIONSHIP_LEVEL = 10


@dataclass(frozen=True)
class Personality:
    """The five weights of the seed design, each in [0, 1]."""

    kindness: float = 0.5
    humor: float = 0.5
    seriousness: float = 0.5
    activeness: float = 0.5
    empathy: float = 0.5

    @classmethod
    def parse(cls, weights: Mapping[str, Any]) -> Personality:
        unknown = set(weights) - set(TRAITS)
        if unknown:
            raise InvalidInput("personality", f"unknown trait(s): {', '.join(sorted(unknown))}")
        missing = [trait for trait in TRAITS if trait not in weights]
        if missing:
            raise InvalidInput("personality", f"missing trait(s): {', '.join(missing)}")
        return cls(
            **{
                trait: validation.unit_interval(f"personality.{trait}", weights[trait])
                for trait in TRAITS
            }
        )

    def dominant(self) -> str:
        """The strongest trait; ties go to the first in TRAITS."""
        return max(TRAITS, key=lambda trait: getattr(self, trait))


@dataclass(frozen=True)
class Persona:
    """Everything that makes a character who they are, validated.

    The fields after `backstory` come from a character card (all optional): its
    personality in words, scenario, greetings, example dialogues, tags, the
    creator's notes and its lorebook as `knowledge`. A persona without them keeps
    the state it always had.
    """

    name: str
    nickname: str
    gender: Gender
    age: int
    personality: Personality
    occupation: str | None = None
    hobbies: tuple[str, ...] = ()
    backstory: str | None = None
    personality_text: str | None = None
    scenario: str | None = None
    first_message: str | None = None
    alternate_greetings: tuple[str, ...] = ()
    example_dialogues: str | None = None
    tags: tuple[str, ...] = ()
    creator_notes: str | None = None
    knowledge: tuple[Lore, ...] = ()

    @classmethod
    def parse(
        cls,
        *,
        name: str,
        nickname: str,
        gender: str,
        age: int,
        personality: Mapping[str, Any],
        occupation: str | None = None,
        hobbies: Sequence[str] = (),
        backstory: str | None = None,
        personality_text: str | None = None,
        scenario: str | None = None,
        first_message: str | None = None,
        alternate_greetings: Sequence[str] = (),
        example_dialogues: str | None = None,
        tags: Sequence[str] = (),
        creator_notes: str | None = None,
        knowledge: Sequence[Mapping[str, Any]] = (),
    ) -> Persona:
        if gender not in GENDERS:
            raise InvalidInput("gender", f"must be one of {', '.join(GENDERS)}")
        if isinstance(age, bool) or not isinstance(age, int) or not MIN_AGE <= age <= MAX_AGE:
            raise InvalidInput("age", f"must be a whole number from {MIN_AGE} to {MAX_AGE}")
        if isinstance(hobbies, str) or len(hobbies) > MAX_HOBBIES:
            raise InvalidInput("hobbies", f"must be a list of at most {MAX_HOBBIES} hobbies")
        return cls(
            name=validation.text("name", name, max_length=MAX_NAME_CHARS),
            nickname=validation.text("nickname", nickname, max_length=MAX_NICKNAME_CHARS),
            gender=gender,  # checked against GENDERS above
            age=age,
            personality=Personality.parse(personality),
            occupation=validation.optional_text(
                "occupation", occupation, max_length=MAX_OCCUPATION_CHARS
            ),
            hobbies=tuple(
                validation.text(f"hobbies[{i}]", hobby, max_length=MAX_HOBBY_CHARS)
                for i, hobby in enumerate(hobbies)
            ),
            backstory=validation.optional_text(
                "backstory", backstory, max_length=MAX_BACKSTORY_CHARS
            ),
            **card_fields(
                personality_text=personality_text,
                scenario=scenario,
                first_message=first_message,
                alternate_greetings=alternate_greetings,
                example_dialogues=example_dialogues,
                tags=tags,
                creator_notes=creator_notes,
                knowledge=knowledge,
            ),
        )

    def to_state(self) -> dict[str, Any]:
        """Plain data for an event's state; a card's fields only when the persona has them."""
        state = asdict(self)
        state["hobbies"] = list(self.hobbies)
        for name in CARD_FIELDS:
            value = getattr(self, name)
            if not value:
                del state[name]
            elif isinstance(value, tuple):
                state[name] = [asdict(v) if isinstance(v, Lore) else v for v in value]
        for lore in state.get("knowledge", ()):
            lore["keys"] = list(lore["keys"])
        return state

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> Persona:
        return cls(
            name=state["name"],
            nickname=state["nickname"],
            gender=state["gender"],
            age=state["age"],
            personality=Personality(**state["personality"]),
            occupation=state.get("occupation"),
            hobbies=tuple(state.get("hobbies", ())),
            backstory=state.get("backstory"),
            personality_text=state.get("personality_text"),
            scenario=state.get("scenario"),
            first_message=state.get("first_message"),
            alternate_greetings=tuple(state.get("alternate_greetings", ())),
            example_dialogues=state.get("example_dialogues"),
            tags=tuple(state.get("tags", ())),
            creator_notes=state.get("creator_notes"),
            knowledge=tuple(
                Lore(keys=tuple(lore["keys"]), content=lore["content"], constant=lore["constant"])
                for lore in state.get("knowledge", ())
            ),
        )


MAX_KEPT_CARD_CHARS = 2 * 1024 * 1024
"""What a CardImported event keeps of a card at most, as JSON text."""


@dataclass(frozen=True)
class ImportedCard:
    """What a character card held beyond the persona (see Character.CardImported)."""

    card: str
    spec: str
    image: str | None


class Character(Aggregate):
    """A character owned by one user. Others never see it, not even that it exists."""

    id: UUID  # chosen by the use case, so it can be returned before the save

    class Created(Aggregate.Created):
        owner_id: UUID
        persona: dict[str, Any]
        baseline: int
        """The mood the persona returns to, as the emotion engine decided it."""
        baseline_expression: str
        """The avatar's expression at that mood, as the expression policy decided it."""

        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            _decided_v1(state)

    class PersonaUpdated(Aggregate.Event):
        persona: dict[str, Any]
        baseline: int
        """The new persona's baseline mood, decided as for Created."""
        baseline_expression: str

        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            _decided_v1(state)

    class RelationshipLevelChanged(Aggregate.Event):
        before: int
        after: int
        reason: str

    class ItemEquipped(Aggregate.Event):
        slot: str
        item_id: UUID

    class CardImported(Aggregate.Event):
        """The character came from a character card: what of the card its persona does not
        hold, kept whole so that the card can be given back."""

        card: str
        """The card's data as JSON text, without what the persona holds (its lorebook whole)."""
        spec: str
        """The card's spec as it came: chara_card_v2 or chara_card_v3."""
        image: str | None
        """The card's image by its content address (sha256 hex), when it came as a PNG."""

    @classmethod
    def create(cls, *, character_id: UUID, owner_id: UUID, persona: Persona) -> Character:
        mood = baseline(persona.personality)
        return cls(  # type: ignore[call-arg]  # the library's metaclass takes id=
            id=character_id,
            owner_id=owner_id,
            persona=persona.to_state(),
            baseline=mood,
            baseline_expression=mood_expression(mood),
        )

    @classmethod
    def import_card(
        cls,
        *,
        character_id: UUID,
        owner_id: UUID,
        persona: Persona,
        card: str,
        spec: str,
        image: str | None,
    ) -> Character:
        """A character made from a character card: Created, then CardImported with the rest."""
        character = cls.create(character_id=character_id, owner_id=owner_id, persona=persona)
        character._import_card(
            card=validation.text("card", card, max_length=MAX_KEPT_CARD_CHARS),
            spec=spec,
            image=image,
        )
        return character

    @event(CardImported)
    def _import_card(self, card: str, spec: str, image: str | None) -> None:
        self._imported_card = ImportedCard(card=card, spec=spec, image=image)

    @property
    def imported_card(self) -> ImportedCard | None:
        """What the character's card held beyond its persona; None when it was not imported."""
        imported: ImportedCard | None = self.__dict__.get("_imported_card")
        return imported

    @event(Created)
    def __init__(
        self, owner_id: UUID, persona: dict[str, Any], baseline: int, baseline_expression: str
    ) -> None:
        self.owner_id = owner_id
        self.persona_state = persona
        self.baseline = baseline
        self.relationship_level = 1
        self.equipped: dict[str, UUID] = {}

    @property
    def persona(self) -> Persona:
        return Persona.from_state(self.persona_state)

    def ensure_owned_by(self, user_id: UUID) -> None:
        if self.owner_id != user_id:
            raise CharacterNotFound("no such character")

    def update_persona(self, persona: Persona) -> None:
        state = persona.to_state()
        if state != self.persona_state:
            mood = baseline(persona.personality)
            self._update_persona(
                persona=state, baseline=mood, baseline_expression=mood_expression(mood)
            )

    @event(PersonaUpdated)
    def _update_persona(
        self, persona: dict[str, Any], baseline: int, baseline_expression: str
    ) -> None:
        self.persona_state = persona
        self.baseline = baseline

    def change_relationship_level(self, level: int, reason: str) -> None:
        if isinstance(level, bool) or not 1 <= level <= MAX_RELATIONSHIP_LEVEL:
            raise InvalidInput("level", f"must be from 1 to {MAX_RELATIONSHIP_LEVEL}")
        if level != self.relationship_level:
            self._change_relationship_level(
                before=self.relationship_level, after=level, reason=reason
            )

    @event(RelationshipLevelChanged)
    def _change_relationship_level(self, before: int, after: int, reason: str) -> None:
        self.relationship_level = after

    def equip(self, slot: str, item_id: UUID) -> None:
        slot = validation.text("slot", slot, max_length=32)
        if self.equipped.get(slot) != item_id:
            self._equip(slot=slot, item_id=item_id)

    @event(ItemEquipped)
    def _equip(self, slot: str, item_id: UUID) -> None:
        self.equipped[slot] = item_id


def _decided_v1(state: dict[str, Any]) -> None:
    """A v1 Created or PersonaUpdated: its baseline and expression as the policies gave them."""
    mood = baseline_v1(state["persona"].get("personality", {}))
    state["baseline"] = mood
    state["baseline_expression"] = mood_expression_v1(mood)
