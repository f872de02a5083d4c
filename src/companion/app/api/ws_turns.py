"""The frames a stored turn sends to every open socket of its user, however it came.

A turn over a socket and a turn over REST tell the user's devices the same
things, made here, so the two cannot drift: the user's message
(`chat_message`), the stored reply (the final `chat_response`, with
`fallback`), then the mood's frames (`emotion_change` when the mood or the
expression moved, `mood_update`, `avatar_expression`). A socket's own turn
adds what only a streamed turn has, `typing_indicator` and the reply's deltas,
between the message and the reply. Another take of a reply, or the one chosen,
is a final `chat_response` with its alternative's number.

The functions that read (the mood, the read models' positions) block: an
async caller runs them in a worker thread.
"""

from __future__ import annotations

from uuid import UUID

from companion.app.alternatives import AlternativeReply
from companion.app.api.ws_frames import Frame, mood_frames
from companion.app.chat_results import ChatTurn
from companion.app.feelings import Feelings
from projections.runner import ProjectionRunner

READ_MODELS_OF_A_TURN = ["conversations", "emotion_states", "memories"]


def message_frame(
    character_id: UUID,
    message_id: UUID,
    text: str,
    client_message_id: str | None,
    in_reply_to: str | None,
) -> Frame:
    """The user's message as stored (on the sender's socket, the ack of its frame)."""
    return (
        "chat_message",
        {
            "character_id": character_id,
            "message_id": message_id,
            "sender": "user",
            "text": text,
            "client_message_id": client_message_id,
            "in_reply_to": in_reply_to,
        },
    )


def turn_frames(
    runner: ProjectionRunner,
    feelings: Feelings,
    user_id: UUID,
    character_id: UUID,
    text: str,
    client_message_id: str | None,
    turn: ChatTurn,
) -> list[Frame]:
    """A whole turn, stored before anything was sent (a REST turn): the user's message,
    then the reply's frames."""
    sent = message_frame(character_id, turn.user_message_id, text, client_message_id, None)
    return [sent, *reply_frames(runner, feelings, user_id, character_id, turn)]


def reply_frames(
    runner: ProjectionRunner, feelings: Feelings, user_id: UUID, character_id: UUID, turn: ChatTurn
) -> list[Frame]:
    """The stored reply as the final chat_response, then the turn's mood frames."""
    done = (
        "chat_response",
        {
            "character_id": character_id,
            "message_id": turn.reply_message_id,
            "in_reply_to": turn.user_message_id,
            "delta": "",
            "text": turn.reply_text,
            "done": True,
            "fallback": turn.fallback,
            "position": turn.position,
            "consistency": consistency(runner, turn.position),
        },
    )
    return [done, *_mood(feelings, user_id, character_id, turn)]


def alternative_frames(
    runner: ProjectionRunner, character_id: UUID, reply: AlternativeReply, in_reply_to: str | None
) -> list[Frame]:
    """Another take of the latest reply (a swipe), or the take chosen: a final
    chat_response with its alternative's number. The mood is not felt again."""
    return [
        (
            "chat_response",
            {
                "character_id": character_id,
                "message_id": reply.message_id,
                "in_reply_to": in_reply_to,
                "delta": "",
                "text": reply.text,
                "alternative": reply.alternative,
                "alternatives": reply.alternatives,
                "fallback": reply.fallback,
                "done": True,
                "position": reply.position,
                "consistency": consistency(runner, reply.position),
            },
        )
    ]


def consistency(runner: ProjectionRunner, position: int | None) -> str:
    """Whether the read models already show the turn, without waiting for them.

    The final frame goes out as soon as the reply is stored: the socket has the
    reply itself, and holding it for the read models would put their lag on
    every turn. `applied` means a REST read now shows the turn; `pending` means
    it may not yet, and a read that sends the frame's `position` in
    X-Consistency-Position waits for it (read_after.py)."""
    applied = runner.wait_for(position, READ_MODELS_OF_A_TURN, 0.0)
    return "applied" if applied else "pending"


def _mood(feelings: Feelings, user_id: UUID, character_id: UUID, turn: ChatTurn) -> list[Frame]:
    """emotion_change is what the turn's own MoodChanged moved from and to, whatever
    another device's turn saved just before or after it, so the changes of concurrent
    turns chain. A turn that repeats a stored one changed nothing: the mood as it is,
    without emotion_change."""
    state, before = turn.emotion, turn.before
    if state is None:
        state = feelings.emotion_state(user_id, character_id)
        if state is None:
            return []
        before = (state.mood, state.expression.name)
    return mood_frames(character_id, state, before)
