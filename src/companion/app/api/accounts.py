"""Registration, tokens and the caller's own profile."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.params import JSONBody
from litestar.security.jwt import JWTAuth, Token
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from companion.app.api import schemas
from companion.app.api.dependencies import CompanionDep, UserId
from companion.app.api.openapi import errors


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["auth"]  # noqa: RUF012

    @post(
        "/register",
        status_code=HTTP_201_CREATED,
        operation_id="register",
        sync_to_thread=True,
        responses=errors(409),
    )
    def register(
        self, data: JSONBody[schemas.RegisterBody], companion: CompanionDep
    ) -> schemas.Registered:
        user_id = companion.application.register(
            email=data.email,
            password=data.password,
            name=data.name,
            nickname=data.nickname,
            timezone=data.timezone,
        )
        return schemas.Registered(user_id=user_id)

    @post(
        "/token",
        status_code=HTTP_200_OK,
        operation_id="token",
        sync_to_thread=True,
        responses=errors(401, 429),
    )
    def token(
        self,
        data: JSONBody[schemas.TokenBody],
        companion: CompanionDep,
        request: Request[Any, Any, Any],
    ) -> schemas.Token:
        user_id = companion.application.authenticate(email=data.email, password=data.password)
        auth: JWTAuth[UUID, Token] = request.app.state.jwt_auth
        ttl = companion.settings.jwt_ttl_seconds
        token = auth.create_token(identifier=str(user_id), token_expiration=timedelta(seconds=ttl))
        return schemas.Token(access_token=token, expires_in=ttl)


class MeController(Controller):
    path = "/api/v1/me"
    tags = ["me"]  # noqa: RUF012

    @get("/", operation_id="me", sync_to_thread=True)
    def me(self, companion: CompanionDep, user_id: UserId) -> schemas.Me:
        user = companion.application.user(user_id)
        return schemas.Me(
            user_id=user.id,
            email=user.email,
            name=user.name,
            nickname=user.nickname,
            timezone=user.timezone,
            subscription_tier=user.tier,
            gems=0,  # no wallet events exist yet, so every balance is zero
        )
