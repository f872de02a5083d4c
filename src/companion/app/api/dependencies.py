"""What handlers receive: the wired Companion and the caller's user id."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency

from companion.app.bootstrap import Companion


def provide_companion(state: State) -> Companion:
    companion: Companion = state.companion
    return companion


def provide_user_id(request: Request[UUID, Any, Any]) -> UUID:
    return request.user


# Handler parameters that are dependencies, marked so Litestar need not guess.
CompanionDep = NamedDependency[Companion]
UserId = NamedDependency[UUID]
