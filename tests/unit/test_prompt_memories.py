"""Memories in the prompt: the best first, within their share; provenance says which."""

from __future__ import annotations

from uuid import UUID

from hypothesis import given, settings
from hypothesis import strategies as st

from companion.domain.characters import Persona
from companion.domain.chat import ChatRequest, RecalledMemory
from companion.domain.prompt import (
    MEMORY_SHARE,
    MIN_PROMPT_TOKENS,
    ModelParameters,
    PromptBudget,
    PromptProvenance,
    build_prompt,
    estimate_tokens,
    memory_line,
    prompt_provenance,
)
from tests.support.personas import HANA

PERSONA = Persona.parse(**HANA)
TEXTS = st.text(alphabet=st.sampled_from("abc xyz.猫ねこ漢字"), min_size=1, max_size=300)


def memories(texts: list[str]) -> tuple[RecalledMemory, ...]:
    return tuple(
        RecalledMemory(memory_id=UUID(int=n + 1), text=text, kind="preference", score=1 / (n + 1))
        for n, text in enumerate(texts)
    )


def asking(texts: list[str], user_text: str = "Do you remember my cat?") -> ChatRequest:
    return ChatRequest(
        persona=PERSONA, user_nickname="Ai", user_text=user_text, memories=memories(texts)
    )


@settings(max_examples=100, deadline=None)
@given(texts=st.lists(TEXTS, max_size=40), user_text=TEXTS)
def test_memories_never_push_a_prompt_over_its_budget_and_the_best_go_in_first(
    texts: list[str], user_text: str
) -> None:
    budget = PromptBudget(prompt_tokens=MIN_PROMPT_TOKENS)
    request = asking(texts, user_text)

    prompt = build_prompt(request, budget)

    assert prompt.estimated_tokens <= budget.limit
    kept = request.memories[: prompt.kept_memories]
    assert sum(estimate_tokens(memory_line(m)) + 1 for m in kept) <= budget.limit // MEMORY_SHARE
    for memory in kept:
        assert memory_line(memory) in prompt.messages[0].content


def test_the_memories_a_prompt_holds_are_those_its_provenance_names() -> None:
    request = asking(["Ai's cat is called Mochi", "Ai loves strawberry cake", "x" * 3000])

    recorded = prompt_provenance(
        request, ModelParameters("m"), in_reply_to=UUID(int=99), persona_version=3
    )

    assert [m for m, _ in recorded.memories] == [UUID(int=1), UUID(int=2)]
    system = build_prompt(request).messages[0].content
    assert "Mochi" in system
    assert "strawberry" in system
    assert "x" * 3000 not in system


def test_a_provenance_reads_back_as_it_was_stored() -> None:
    request = asking(["Ai's cat is called Mochi"])
    recorded = prompt_provenance(
        request,
        ModelParameters("m", PromptBudget(1000, 4096, 300), temperature=0.7),
        in_reply_to=UUID(int=7),
        persona_version=2,
        memory_book_version=5,
    )

    assert PromptProvenance.from_state(recorded.to_state()) == recorded
    assert recorded.max_tokens == 300
    assert recorded.temperature == 0.7
