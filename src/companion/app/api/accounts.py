"""Registration, tokens and the caller's own profile."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from litestar import Controller, Request, get, post, put
from litestar.params import JSONBody
from litestar.security.jwt import JWTAuth, Token
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT
from pydantic import Field

from companion.app.api import schemas
from companion.app.api.auth import TOKEN_VERSION_CLAIM
from companion.app.api.dependencies import (
    AccountsDep,
    ReadsDep,
    ReadYourWritesDep,
    SettingsDep,
    UserId,
)
from companion.app.api.openapi import errors
from companion.app.api.ws_auth import announce_token_change
from companion.app.api.ws_channels import UserChannels
from companion.domain.errors import UserNotFound


class Profile(schemas.Me):
    """The caller's own profile, and the sign-ups someone tried with their email."""

    sign_up_attempts: int = Field(
        ge=0, description="sign-ups tried with this account's email (each answered as if new)"
    )
    last_sign_up_attempt_at: datetime | None = Field(
        description="when the latest of them came, if any"
    )


def _address(request: Request[Any, Any, Any]) -> str | None:
    return request.client.host if request.client else None


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["auth"]  # noqa: RUF012

    @post(
        "/register",
        status_code=HTTP_201_CREATED,
        operation_id="register",
        sync_to_thread=True,
        responses=errors(429),
    )
    def register(
        self,
        data: JSONBody[schemas.RegisterBody],
        accounts: AccountsDep,
        read_your_writes: ReadYourWritesDep,
        request: Request[Any, Any, Any],
    ) -> schemas.Registered:
        """A new account. An email already registered gets the same answer (an id of no
        account) and its owner is told; sign-ups per client address are limited (429)."""
        user_id, position = accounts.sign_up(
            email=data.email,
            password=data.password,
            name=data.name,
            nickname=data.nickname,
            timezone=data.timezone,
            address=_address(request),
        )
        read_your_writes(request, position, ["users"])
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
        accounts: AccountsDep,
        settings: SettingsDep,
        request: Request[Any, Any, Any],
    ) -> schemas.Token:
        login = accounts.authenticate(
            email=data.email,
            password=data.password,
            address=_address(request),
        )
        auth: JWTAuth[UUID, Token] = request.app.state.jwt_auth
        ttl = settings.jwt_ttl_seconds
        token = auth.create_token(
            identifier=str(login.user_id),
            token_expiration=timedelta(seconds=ttl),
            token_extras={TOKEN_VERSION_CLAIM: login.token_version},
        )
        return schemas.Token(access_token=token, expires_in=ttl)


class MeController(Controller):
    path = "/api/v1/me"
    tags = ["me"]  # noqa: RUF012

    @get("/", operation_id="me", sync_to_thread=True)
    def me(self, reads: ReadsDep, user_id: UserId) -> Profile:
        user = reads.users.get(user_id)
        if user is None or user.forgotten:
            raise UserNotFound("no such user")
        return Profile(
            user_id=user.user_id,
            email=user.email,
            name=user.name,
            nickname=user.nickname,
            timezone=user.timezone,
            subscription_tier=user.tier,
            gems=reads.inventories.gems(user_id),
            sign_up_attempts=user.sign_up_attempts,
            last_sign_up_attempt_at=user.last_sign_up_attempt_at,
        )

    @put(
        "/password",
        status_code=HTTP_204_NO_CONTENT,
        operation_id="changePassword",
        sync_to_thread=True,
        responses=errors(401, 429),
    )
    def change_password(
        self,
        data: JSONBody[schemas.PasswordChangeBody],
        accounts: AccountsDep,
        read_your_writes: ReadYourWritesDep,
        user_id: UserId,
        request: Request[Any, Any, Any],
    ) -> None:
        """A new password; every token issued before it stops working, this one included.
        Wrong current passwords are limited per user (429, even for the right one)."""
        position = accounts.change_password(
            user_id=user_id,
            current_password=data.current_password,
            new_password=data.new_password,
        )
        read_your_writes(request, position, ["users"])
        announce_token_change(request.app.plugins.get(UserChannels), user_id)
