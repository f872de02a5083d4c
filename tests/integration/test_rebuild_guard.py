"""One rebuild of a read model at a time: a second one is refused at once, on every backend.

Two `Companion`s on one store (one database URL) stand for two processes: the lock is the store's
(PostgreSQL's session advisory lock, an flock beside SQLite's read models, a
lock of the process for an in-memory store), not a lock of the Python object.
"""

from __future__ import annotations

import pytest
import structlog
from typer.testing import CliRunner

from companion.app.cli import app
from projections.rebuild_guard import RebuildInProgress, exclusive_rebuild
from tests.support.companions import Companions
from tests.support.runner import BACKENDS
from tests.support.users import chatted


@pytest.fixture(params=BACKENDS)
def companions(request: pytest.FixtureRequest) -> Companions:
    factory: Companions = request.getfixturevalue(f"{request.param}_companions")
    return factory


def test_a_second_rebuild_of_the_same_read_model_is_refused_until_the_first_ends(
    companions: Companions,
) -> None:
    first = companions()
    second = companions(database_url=first.settings.database_url)
    conversations = first.read_models.conversations.key
    characters = first.read_models.characters.key

    with exclusive_rebuild(first.views, conversations):
        with (
            pytest.raises(RebuildInProgress, match="being rebuilt by another process"),
            exclusive_rebuild(second.views, conversations),
        ):
            pass
        # Another read model may be rebuilt meanwhile.
        with exclusive_rebuild(second.views, characters):
            pass
    # Released: the next rebuild goes ahead.
    with exclusive_rebuild(second.views, conversations):
        pass


def test_a_refused_rebuild_leaves_the_running_one_and_the_read_model_alone(
    companions: Companions,
) -> None:
    first = companions(projection_batch_size=5)
    second = companions(projection_batch_size=5, database_url=first.settings.database_url)
    chatted(first, 6)
    first.runner.run_once()
    projection = first.read_models.conversations
    live = projection.dump(first.views)

    with exclusive_rebuild(first.views, projection.key):
        with (
            pytest.raises(RebuildInProgress),
            exclusive_rebuild(second.views, projection.key),
        ):
            second.runner.rebuild(second.read_models.conversations)
        first.runner.rebuild(projection)
    assert projection.dump(first.views) == live


def test_the_cli_refuses_a_rebuild_another_process_is_running(companions: Companions) -> None:
    held = companions()
    url = held.settings.database_url
    key = held.read_models.conversations.key
    logging_config = structlog.get_config()
    try:
        with exclusive_rebuild(held.views, key):
            refused = CliRunner().invoke(
                app, ["--database-url", url, "projections", "rebuild", "conversations"]
            )
        done = CliRunner().invoke(
            app, ["--database-url", url, "projections", "rebuild", "conversations"]
        )
    finally:
        structlog.configure(**logging_config)
    assert refused.exit_code != 0
    assert f"{key} is being rebuilt by another process" in refused.stderr
    assert "rebuilt conversations" not in refused.stdout
    assert done.exit_code == 0, (done.output, done.exception)
    assert "rebuilt conversations" in done.stdout
