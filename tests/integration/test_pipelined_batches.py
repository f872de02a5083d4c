"""PostgreSQL batches are pipelined; reads inside them must still get their own results."""

from __future__ import annotations

import pytest

from projections.runner import ProjectionRunner
from tests.support.companions import Companions
from tests.support.conversations import turns

pytestmark = pytest.mark.postgres


def test_repeated_rebuilds_and_catch_ups_of_a_busy_log(postgres_companions: Companions) -> None:
    companion = postgres_companions(projection_batch_size=50)
    app, runner = companion.application, companion.runner
    turns(companion, conversations=40, rounds=20)
    projection = companion.read_models.conversations
    expected = runner.head()
    runner.catch_up(projection)
    live = projection.dump(companion.views)
    for batch_size in (500, 50, 500, 7, 500, 50):
        assert runner.rebuild(projection) == expected
        assert projection.dump(companion.views) == live
        with companion.views.write(projection.key) as cursor:
            cursor.execute(f"TRUNCATE {', '.join(projection.tables)}")
            companion.views.reset(cursor, projection.key)
        fresh = ProjectionRunner(
            app.recorder, app.mapper, companion.views, [projection], batch_size=batch_size
        )
        assert fresh.catch_up(projection) == expected
        assert projection.dump(companion.views) == live
    assert runner.position(projection.name) == expected
