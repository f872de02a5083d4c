"""The runner's decoder makes of every stored event what the application's mapper makes."""

from __future__ import annotations

import base64
import os

import pytest
from eventsourcing.persistence import Notification

from projections.decoding import decoder_for
from tests.support.companions import Companions
from tests.support.users import user_with_character


@pytest.mark.parametrize("cipher", [False, True], ids=["clear", "encrypted"])
def test_every_event_decodes_as_the_mapper_decodes_it(
    sqlite_companions: Companions, cipher: bool
) -> None:
    key = base64.b64encode(os.urandom(32)).decode() if cipher else None
    companion = sqlite_companions(cipher_key=key, compress_events=cipher)
    app = companion.application
    user_id, character_id = user_with_character(companion, "decode@example.org")
    for n in range(3):
        turn = companion.chat.send_message(
            user_id=user_id, character_id=character_id, text=f"{n} ✨"
        )
    companion.alternatives.regenerate_reply(
        user_id=user_id, character_id=character_id, message_id=turn.reply_message_id
    )
    notifications = app.recorder.select_notifications(start=1, limit=10_000)
    assert len({n.topic for n in notifications}) >= 8
    decode = decoder_for(app.mapper)

    for notification in notifications:
        ours, theirs = decode(notification), app.mapper.to_domain_event(notification)
        assert type(ours) is type(theirs)
        assert vars(ours) == vars(theirs), notification.topic


@pytest.mark.parametrize(
    "text",
    [b'"\\ud800 alone"', b"1e400", b'"plain \\u00e9"', b"[1, 2.5, null]"],
    ids=["lone-surrogate", "number-out-of-range", "escaped", "array"],
)
def test_what_the_fast_parser_refuses_decodes_as_the_mapper_decodes_it(
    sqlite_companions: Companions, text: bytes
) -> None:
    companion = sqlite_companions()
    app = companion.application
    user_id, character_id = user_with_character(companion, "odd@example.org")
    companion.chat.send_message(user_id=user_id, character_id=character_id, text="hello")
    sent = next(
        n
        for n in app.recorder.select_notifications(start=1, limit=10_000)
        if n.topic.endswith("UserMessageSent")
    )
    start = sent.state.index(b'"text":') + len(b'"text":')
    end = sent.state.index(b',"client_message_id"')
    odd = Notification(
        originator_id=sent.originator_id,
        originator_version=sent.originator_version,
        topic=sent.topic,
        state=sent.state[:start] + text + sent.state[end:],
        id=sent.id,
    )

    ours, theirs = decoder_for(app.mapper)(odd), app.mapper.to_domain_event(odd)

    assert vars(ours) == vars(theirs)
