"""The prompt builder: within its budget whatever the history, newest turns kept, user last."""

from __future__ import annotations

from uuid import UUID

from hypothesis import given, settings
from hypothesis import strategies as st

from companion.domain.characters import Persona
from companion.domain.chat import ChatRequest
from companion.domain.conversations import Turn
from companion.domain.prompt import (
    MIN_PROMPT_TOKENS,
    PromptBudget,
    build_prompt,
    estimate_tokens,
    system_prompt,
)
from companion.domain.sentiment import Sentiment
from tests.support.personas import HANA

PERSONA = Persona.parse(**{**HANA, "backstory": "Grew up by the sea in Kamakura."})
TEXTS = st.text(alphabet=st.sampled_from("abc xyz.!?あいう漢字、。😀"), min_size=1, max_size=600)


def turns(texts: list[str]) -> tuple[Turn, ...]:
    return tuple(
        Turn(sender="user" if n % 2 == 0 else "character", message_id=UUID(int=n), text=text)
        for n, text in enumerate(texts)
    )


def request(
    history: list[str], user_text: str = "How was your day?", **extra: object
) -> ChatRequest:
    return ChatRequest(
        persona=PERSONA,
        user_nickname="Ai",
        user_text=user_text,
        recent_turns=turns(history),
        **extra,  # type: ignore[arg-type]
    )


budgets = st.builds(
    PromptBudget,
    prompt_tokens=st.integers(MIN_PROMPT_TOKENS, 4000),
    context_tokens=st.integers(MIN_PROMPT_TOKENS + 16, 32_000),
    reply_tokens=st.integers(16, 16),
)


@settings(max_examples=150, deadline=None)
@given(history=st.lists(TEXTS, max_size=80), user_text=TEXTS, budget=budgets)
def test_a_prompt_is_never_over_its_budget(
    history: list[str], user_text: str, budget: PromptBudget
) -> None:
    prompt = build_prompt(request(history, user_text), budget)

    assert prompt.estimated_tokens <= budget.limit
    recount = sum(estimate_tokens(m.content) + 4 for m in prompt.messages) + 3
    assert prompt.estimated_tokens == recount


@settings(max_examples=100, deadline=None)
@given(history=st.lists(TEXTS, max_size=60), budget=budgets)
def test_the_newest_turns_are_kept_and_the_users_message_is_last(
    history: list[str], budget: PromptBudget
) -> None:
    prompt = build_prompt(request(history), budget)

    kept = [m.content for m in prompt.messages[1:-1]]
    assert kept == history[len(history) - prompt.kept_turns :]
    assert prompt.messages[0].role == "system"
    assert prompt.messages[-1].role == "user"
    assert prompt.messages[-1].content == "How was your day?"


@settings(max_examples=50, deadline=None)
@given(history=st.lists(TEXTS, max_size=30), budget=budgets)
def test_the_same_request_always_gets_the_same_prompt(
    history: list[str], budget: PromptBudget
) -> None:
    assert build_prompt(request(history), budget) == build_prompt(request(history), budget)


def test_the_turns_that_fit_are_all_kept_in_order_with_their_roles() -> None:
    prompt = build_prompt(request(["hi", "hello Ai", "how are you?", "fine!"]))

    assert [(m.role, m.content) for m in prompt.messages[1:]] == [
        ("user", "hi"),
        ("assistant", "hello Ai"),
        ("user", "how are you?"),
        ("assistant", "fine!"),
        ("user", "How was your day?"),
    ]
    assert prompt.kept_turns == 4
    assert not prompt.shortened


def test_a_long_conversation_drops_its_oldest_turns_first() -> None:
    history = [f"message number {n} " + "words " * 50 for n in range(200)]
    prompt = build_prompt(request(history), PromptBudget(prompt_tokens=1000))

    assert 0 < prompt.kept_turns < 200
    assert prompt.messages[-2].content == history[-1]
    assert prompt.estimated_tokens <= 1000


def test_the_context_minus_the_reply_bounds_the_budget() -> None:
    budget = PromptBudget(prompt_tokens=3000, context_tokens=2048, reply_tokens=1024)
    assert budget.limit == 1024


def test_an_overlong_message_is_cut_but_still_last_and_within_budget() -> None:
    long_text = "長い話だよ。" * 600
    prompt = build_prompt(request([], long_text), PromptBudget(prompt_tokens=MIN_PROMPT_TOKENS))

    assert prompt.shortened
    assert prompt.estimated_tokens <= MIN_PROMPT_TOKENS
    assert prompt.messages[-1].role == "user"
    assert long_text.startswith(prompt.messages[-1].content)


def test_the_system_prompt_says_who_the_character_is_and_how_to_answer() -> None:
    text = system_prompt(
        request(
            [],
            mood=-45,
            sentiment=Sentiment(-0.6, (("sadness", 0.7),)),
            daily_event="A stray cat followed me to the studio.",
            relationship_level=8,
        )
    )

    for fact in (
        "Hana Sato",
        "Hana",
        "girlfriend",
        "Ai",
        "24",
        "illustrator",
        "tennis",
        "baking",
        "Kamakura",
        "language of the user's last message",
        "level 8 of 10",
        "mood right now is low",
        "negative, mostly sadness",
        "A stray cat followed me",
    ):
        assert fact in text, fact
    assert "very high kindness" in text or "high kindness" in text


def test_a_new_relationship_is_polite_and_without_mood_nothing_is_said_about_it() -> None:
    text = system_prompt(request([], relationship_level=1))

    assert "polite" in text
    assert "mood" not in text
    assert "happened to you today" not in text


def test_the_estimate_is_conservative_for_english_and_japanese() -> None:
    # Real tokenizers give about one token per four English characters and at most
    # about one per kana; the estimate must not be below either.
    assert estimate_tokens("a" * 300) >= 75
    assert estimate_tokens("hello world, how are you today?") >= 8
    assert estimate_tokens("こんにちは") >= 5


@given(st.text())
def test_the_token_estimate_counts_ascii_by_threes_and_every_other_character_as_one(
    text: str,
) -> None:
    ascii_chars = sum(1 for char in text if char < "\x80")
    assert estimate_tokens(text) == -(-ascii_chars // 3) + (len(text) - ascii_chars)


CARD_PERSONA = Persona.parse(
    **{
        **HANA,
        "personality_text": "{{char}} teases {{user}} gently.",
        "scenario": "{{char}} runs a bakery in Kamakura.",
        "example_dialogues": "<START>\n{{user}}: hi\n{{char}}: Welcome back!",
        "knowledge": [
            {"keys": ["Mochi", "cat"], "content": "Mochi is the bakery's cat."},
            {"keys": ["bread"], "content": "The melon bread sells out by noon."},
            {"keys": [], "content": "Hana is left-handed.", "constant": True},
        ],
    }
)


def test_a_cards_knowledge_comes_up_when_what_was_said_calls_for_it() -> None:
    asked = ChatRequest(persona=CARD_PERSONA, user_text="Is the CAT asleep?", user_nickname="Ai")
    prompt = system_prompt(asked)
    assert "Mochi is the bakery's cat." in prompt
    assert "Hana is left-handed." in prompt  # a constant entry, always
    assert "melon bread" not in prompt
    said_before = ChatRequest(
        persona=CARD_PERSONA,
        user_text="ok",
        user_nickname="Ai",
        recent_turns=turns(["I want bread", "Sure!"]),
    )
    assert "melon bread" in system_prompt(said_before)


def test_a_cards_text_reaches_the_prompt_with_the_names_filled_in() -> None:
    prompt = system_prompt(ChatRequest(persona=CARD_PERSONA, user_text="hi", user_nickname="Ai"))
    assert "Hana Sato teases Ai gently." in prompt
    assert "Hana Sato runs a bakery in Kamakura." in prompt
    assert "Ai: hi\nHana Sato: Welcome back!" in prompt
    assert "{{" not in prompt
