"""A rebuild fills fresh tables while the live ones keep serving, then switches them in.

- between two of the rebuild's batches, reads answer from the live tables in
  full and the live runner keeps applying new events;
- the switch is one transaction: the rebuilt tables take the live names (and
  their indexes the live index names), the position carries over, and the
  rebuilt read model equals the live one, events appended meanwhile included;
- a rebuild that dies half-way leaves the live read model as it was, and the
  next rebuild starts over cleanly.
"""

from __future__ import annotations

import threading

import pytest

from companion.app.bootstrap import Companion
from companion.domain.identity import conversation_id
from projections.base import FRESH_SUFFIX
from projections.store import TRACKING_TABLE, Row
from tests.support.companions import Companions
from tests.support.runner import BACKENDS
from tests.support.users import chatted

TURNS = 12
BATCH = 5


@pytest.fixture(params=BACKENDS)
def companions(request: pytest.FixtureRequest) -> Companions:
    factory: Companions = request.getfixturevalue(f"{request.param}_companions")
    return factory


def tracked(companion: Companion) -> dict[str, int]:
    with companion.views.read() as cursor:
        rows = cursor.query(f"SELECT application_name, notification_id FROM {TRACKING_TABLE}")
    return {str(row["application_name"]): int(row["notification_id"]) for row in rows}


def row_count(companion: Companion, table: str) -> int:
    with companion.views.read() as cursor:
        rows: list[Row] = cursor.query(f"SELECT COUNT(*) AS n FROM {table}")
    return int(rows[0]["n"])


def test_reads_answer_from_the_live_tables_while_a_rebuild_fills_fresh_ones(
    companions: Companions,
) -> None:
    companion = companions(projection_batch_size=BATCH)
    runner, conversations = companion.runner, companion.read_models.conversations
    user_id, character_id = chatted(companion, TURNS)
    runner.run_once()
    conv_id = conversation_id(user_id, character_id)
    seen: list[int | None] = []
    fresh_rows: list[int] = []
    applied_meanwhile: list[int] = []

    def between_batches(position: int, head: int) -> None:
        if seen:
            return
        # Paused after the first batch: the live tables answer in full.
        view = conversations.conversation(companion.views, conv_id)
        seen.append(view.message_count if view else None)
        # A new turn meanwhile; the live runner applies it without waiting for the rebuild.
        companion.chat.send_message(
            user_id=user_id, character_id=character_id, text="during the rebuild"
        )
        step = threading.Thread(target=lambda: applied_meanwhile.append(runner.run_once()))
        step.start()
        step.join(timeout=30)  # only turns a hang into a failure
        fresh_rows.append(row_count(companion, conversations.messages_table + FRESH_SUFFIX))

    runner.rebuild(conversations, between_batches)

    assert seen == [2 * TURNS]
    assert applied_meanwhile, "the live runner waited for the rebuild"
    assert 0 < fresh_rows[0] < 2 * TURNS  # the rebuild writes elsewhere, a batch at a time
    view = conversations.conversation(companion.views, conv_id)
    assert view is not None
    assert view.message_count == 2 * TURNS + 2


def test_the_switch_carries_the_position_over_and_the_rebuilt_model_equals_the_live_one(
    companions: Companions,
) -> None:
    companion = companions(projection_batch_size=BATCH)
    runner = companion.runner
    chatted(companion, TURNS)
    runner.run_once()
    head = runner.head()
    live = {p.name: p.dump(companion.views) for p in runner.projections.values()}

    for _ in range(2):  # the second rebuild starts from tables the first switched in
        for projection in runner.projections.values():
            runner.rebuild(projection)
            assert projection.dump(companion.views) == live[projection.name], projection.name

    positions = tracked(companion)
    for projection in runner.projections.values():
        assert positions[projection.key] == head
        assert runner.position(projection.name) == head
    assert not [key for key in positions if key.endswith(FRESH_SUFFIX)]
    assert not [t for t in tables(companion) if FRESH_SUFFIX in t]


def tables(companion: Companion) -> list[str]:
    """Every table and index of the view store."""
    with companion.views.read() as cursor:
        if companion.views.dialect == "postgres":
            rows = cursor.query(
                "SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema()"
                " UNION ALL SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
            )
        else:
            rows = cursor.query("SELECT name FROM sqlite_master")
    return [str(row["name"]) for row in rows]


def test_the_live_tables_keep_their_index_names(companions: Companions) -> None:
    companion = companions()
    runner, conversations = companion.runner, companion.read_models.conversations
    chatted(companion, 2)
    runner.run_once()
    before = sorted(t for t in tables(companion) if t.startswith(conversations.messages_table))

    runner.rebuild(conversations)

    assert sorted(t for t in tables(companion) if t.startswith(conversations.messages_table)) == (
        before
    )
    assert f"{conversations.messages_table}_page" in before


class Died(Exception):
    pass


def test_a_rebuild_that_dies_half_way_leaves_the_live_model_serving(
    companions: Companions,
) -> None:
    companion = companions(projection_batch_size=BATCH)
    runner, conversations = companion.runner, companion.read_models.conversations
    chatted(companion, TURNS)
    runner.run_once()
    live = conversations.dump(companion.views)
    position = runner.position(conversations.name)

    def die(position: int, head: int) -> None:
        raise Died

    with pytest.raises(Died):
        runner.rebuild(conversations, die)

    assert conversations.dump(companion.views) == live
    assert runner.position(conversations.name) == position
    runner.rebuild(conversations)
    assert conversations.dump(companion.views) == live
