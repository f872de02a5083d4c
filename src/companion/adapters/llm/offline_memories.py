"""What the offline companion says with the memories it is given.

Asked whether she remembers something, she tells the best memory she was
given back to the user ("Of course I remember! Your cat is called Mochi."),
or says honestly that she was not told, rather than guessing. Greeted on a
day the user had planned something, she asks about the plan. Memories are
written about "the user" (「ユーザー」); she says them to the user.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from companion.domain.chat import ChatRequest, RecalledMemory

Pick = Callable[[Sequence[str], int], str]

PLAN = "plan"

_EN_ASKS = re.compile(
    r"\b(?:do|did|can|could|would|will)\s+you\s+(?:still\s+)?(?:remember|recall)\b"
    r"|\bdid\s+i\s+(?:ever\s+)?(?:tell|mention)\b"
    r"|\bhave\s+you\s+forgotten\b|\byou\s+(?:still\s+)?remember\b",
    re.IGNORECASE,
)
_JA_ASKS = ("覚えて", "覚えとる", "忘れちゃった", "忘れてない", "言ったっけ", "話したっけ")
_QUESTION = ("?", "？")

REMEMBER_LINES: dict[str, tuple[str, ...]] = {
    "en": (
        "Of course I remember, {nick}! {fact}.",
        "How could I forget? {fact}.",
        "I remember, {nick}. {fact}, right?",
    ),
    "ja": (
        "もちろん覚えてるよ、{nick}！{fact}、でしょ？",
        "忘れるわけないよ。{fact}だよね。",
        "ちゃんと覚えてるよ。{fact}、だよね？",
    ),
}
NOT_TOLD_LINES: dict[str, tuple[str, ...]] = {
    "en": (
        "Hmm, I don't think you've told me about that yet, {nick}. Will you tell me now?",
        "I'm sorry, {nick}, I don't remember you telling me that. Tell me again?",
    ),
    "ja": (
        "うーん、それはまだ聞いてないかも。{nick}、いま教えてくれる？",
        "ごめんね、{nick}、それは覚えてないみたい。もう一度教えて？",
    ),
}
PLAN_LINES: dict[str, tuple[str, ...]] = {
    "en": (
        "By the way, you had {plan} planned, didn't you? How did it go?",
        "Oh, and {plan}! You told me about it. How was it?",
    ),
    "ja": (
        "そういえば、「{plan}」の予定だったよね？どうだった？",
        "あ、「{plan}」の日だよね。どうだった？",
    ),
}

_EN_VERBS = (
    ("The user's ", "your "),
    ("The user is ", "you are "),
    ("The user was ", "you were "),
    ("The user has ", "you have "),
    ("The user likes ", "you like "),
    ("The user dislikes ", "you dislike "),
    ("The user works ", "you work "),
    ("The user lives ", "you live "),
    ("The user ", "you "),
)


def asks_to_remember(text: str, language: str) -> bool:
    """Whether the message asks the character to remember (or says she forgot) something."""
    if not any(mark in text for mark in _QUESTION):
        return False
    if language == "ja":
        return any(cue in text for cue in _JA_ASKS)
    return _EN_ASKS.search(text) is not None


def said_to_the_user(memory: RecalledMemory, nick: str, language: str) -> str:
    """The memory as the character says it to the user, without its final full stop."""
    text = memory.text.strip().rstrip(".。")
    for written, said in _EN_VERBS:
        text = text.replace(written, said)
    text = text.replace("ユーザー", nick)
    if language == "en" and text:
        text = text[0].upper() + text[1:]
    return text


def recall_line(request: ChatRequest, language: str, nick: str, pick: Pick) -> str | None:
    """The line about what she remembers for this message, or None when memory has no say."""
    if not asks_to_remember(request.user_text, language):
        return None
    if not request.memories:
        return pick(NOT_TOLD_LINES[language], 11).format(nick=nick)
    fact = said_to_the_user(request.memories[0], nick, language)
    return pick(REMEMBER_LINES[language], 12).format(nick=nick, fact=fact)


def plan_line(request: ChatRequest, language: str, pick: Pick, text: str) -> str | None:
    """A question about a plan the user had for about now, if one was recalled and neither
    this reply (`text`) nor a recent one already brings it up."""
    plan = next((m for m in request.memories if m.subject == PLAN and m.value), None)
    if plan is None:
        return None
    # Asked once is enough: not again while her asking is still in the recent turns.
    said = [text, *(t.text for t in request.recent_turns if t.sender == "character")]
    if any(plan.value in text for text in said):
        return None
    return pick(PLAN_LINES[language], 13).format(plan=plan.value)
