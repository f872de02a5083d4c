"""Liveness and readiness."""

from __future__ import annotations

from datetime import UTC, datetime

from litestar import Controller, Response, get
from litestar.openapi import ResponseSpec
from litestar.status_codes import HTTP_200_OK, HTTP_503_SERVICE_UNAVAILABLE

from companion.app.api import schemas
from companion.app.api.dependencies import CompanionDep, RedisDep, RunnerDep, SettingsDep
from companion.app.api.reads import replica_check
from companion.app.settings import Settings
from projections.runner import ProjectionRunner

# Readiness stays green while projections are this far behind the log; past it a
# load balancer should send traffic elsewhere.
MAX_READY_LAG = 10_000


def _worker_check(runner: ProjectionRunner, settings: Settings, lag: int) -> str:
    """A process that does not project relies on a worker: is one alive while events wait?"""
    if lag == 0:
        return "ok"
    stale = settings.projection_worker_stale_seconds
    seen = runner.last_heartbeat()
    if seen is None:
        return f"no projection worker has ever run while {lag} events wait"
    age = (datetime.now(UTC) - seen).total_seconds()
    if age > stale:
        return f"no projection worker seen for {age:.0f} s while {lag} events wait"
    return "ok"


class HealthController(Controller):
    tags = ["health"]  # noqa: RUF012

    @get("/health", operation_id="health", sync_to_thread=False)
    def health(self) -> schemas.Health:
        return schemas.Health(status="ok")

    @get(
        "/ready",
        operation_id="ready",
        sync_to_thread=True,
        responses={
            503: ResponseSpec(
                schemas.Readiness, description="Not ready: a check failed or projections lag"
            )
        },
    )
    def ready(
        self,
        runner: RunnerDep,
        settings: SettingsDep,
        redis: RedisDep,
        companion: CompanionDep,
    ) -> Response[schemas.Readiness]:
        checks: dict[str, str] = {}
        projections: dict[str, schemas.ProjectionState] = {}
        head = 0
        try:
            head = runner.head()
            checks["event_store"] = "ok"
        except Exception as error:
            checks["event_store"] = f"unavailable: {type(error).__name__}"
        try:
            for name in runner.projections:
                position = runner.position(name)
                projections[name] = schemas.ProjectionState(
                    position=position, head=head, lag=max(0, head - position)
                )
            lag = max((p.lag for p in projections.values()), default=0)
            checks["projections"] = "ok" if lag <= MAX_READY_LAG else f"behind by {lag}"
            if not runner.running:
                checks["projection_worker"] = _worker_check(runner, settings, lag)
        except Exception as error:
            checks["projections"] = f"unavailable: {type(error).__name__}"
        if redis is not None:
            try:
                redis.ping()
                checks["redis"] = "ok"
            except Exception as error:
                checks["redis"] = f"unavailable: {type(error).__name__}"
        replica = replica_check(companion)
        if replica is not None:
            checks["read_replica"] = replica
        ready = all(value == "ok" for value in checks.values())
        return Response(
            schemas.Readiness(
                status="ready" if ready else "unavailable", checks=checks, projections=projections
            ),
            status_code=HTTP_200_OK if ready else HTTP_503_SERVICE_UNAVAILABLE,
        )
