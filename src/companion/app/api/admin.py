"""Routes for accounts with the admin role: the business's KPIs.

To anyone else they answer 404 `not_found`, exactly as a route that does not
exist, so an ordinary token learns nothing of them.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

from litestar import Controller, get
from litestar.exceptions import NotFoundException
from litestar.params import QueryParameter

from companion.app.api.dependencies import CompanionDep, UserId
from companion.app.api.openapi import errors
from companion.app.bootstrap import Companion
from companion.domain.errors import InvalidInput
from projections.analytics_kpis import Grain, KpiReport, compute_kpis

MAX_DAYS = 732
"""The longest range one report covers."""


def ensure_admin(companion: Companion, user_id: UUID) -> None:
    """NotFoundException (as for an unknown route) unless the caller is an admin."""
    if not companion.read_models.admins.is_admin(companion.views, user_id):
        raise NotFoundException()


class AdminController(Controller):
    path = "/api/v1/admin"
    tags = ["admin"]  # noqa: RUF012

    @get("/kpis", operation_id="getKpis", sync_to_thread=True, responses=errors(404, 422))
    def kpis(
        self,
        companion: CompanionDep,
        user_id: UserId,
        since: Annotated[date, QueryParameter(name="from", description="first UTC day")],
        until: Annotated[date, QueryParameter(name="to", description="last UTC day, included")],
        by: Annotated[
            Grain, QueryParameter(description="one period per day, ISO week or month")
        ] = "day",
    ) -> KpiReport:
        """DAU, WAU, MAU, sessions, retention, revenue, latency, mood and relationships over
        a range of UTC days, per period and in total (admins only: 404 to anyone else)."""
        ensure_admin(companion, user_id)
        if until < since:
            raise InvalidInput("to", "must not be before from")
        if (until - since).days >= MAX_DAYS:
            raise InvalidInput("to", f"a report covers at most {MAX_DAYS} days")
        model = companion.read_models.analytics
        return compute_kpis(companion.views, model, start=since, end=until, by=by)
