"""The runner's decoder makes of every stored event what the application's mapper makes."""

from __future__ import annotations

import base64
import os

import pytest

from projections.decoding import decoder_for
from tests.integration.conftest import Companions
from tests.integration.test_runner_guarantees import user_with_character


@pytest.mark.parametrize("cipher", [False, True], ids=["clear", "encrypted"])
def test_every_event_decodes_as_the_mapper_decodes_it(
    sqlite_companions: Companions, cipher: bool
) -> None:
    key = base64.b64encode(os.urandom(32)).decode() if cipher else None
    companion = sqlite_companions(cipher_key=key, compress_events=cipher)
    app = companion.application
    user_id, character_id = user_with_character(companion, "decode@example.org")
    for n in range(3):
        turn = app.send_message(user_id=user_id, character_id=character_id, text=f"{n} ✨")
    app.regenerate_reply(
        user_id=user_id, character_id=character_id, message_id=turn.reply_message_id
    )
    notifications = app.recorder.select_notifications(start=1, limit=10_000)
    assert len({n.topic for n in notifications}) >= 8
    decode = decoder_for(app.mapper)

    for notification in notifications:
        ours, theirs = decode(notification), app.mapper.to_domain_event(notification)
        assert type(ours) is type(theirs)
        assert vars(ours) == vars(theirs), notification.topic
