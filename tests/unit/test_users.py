from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from companion.domain.errors import InvalidInput, UserForgotten
from companion.domain.identity import email_claim_id, normalise_email
from companion.domain.users import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    EmailClaim,
    User,
    check_password,
)


def register(**overrides: Any) -> tuple[User, EmailClaim]:
    fields: dict[str, Any] = {
        "user_id": uuid4(),
        "email": "mika@example.com",
        "password_hash": "$argon2id$stand-in",
        "name": "Mika Tanaka",
        "nickname": "Mika",
        "timezone": "Asia/Tokyo",
    }
    return User.register(**{**fields, **overrides})


def event_names(user: User) -> list[str]:
    return [type(domain_event).__name__ for domain_event in user.collect_events()]


# -- registration --------------------------------------------------------------


@pytest.mark.parametrize(
    "email",
    ["mika@example.com", "m.tanaka+chat@mail.example.co.jp", "x@y.z", "  Mika@Example.COM  "],
)
def test_an_email_shaped_address_is_accepted(email: str) -> None:
    user, _ = register(email=email)

    assert user.email == email.strip().lower()


@pytest.mark.parametrize(
    "email",
    [
        "",
        "   ",
        "mika",
        "mika@example",
        "@example.com",
        "mika@",
        "mika@@example.com",
        "mi ka@example.com",
        "mika@exa mple.com",
        "a" * 250 + "@example.com",
    ],
)
def test_an_address_without_an_email_shape_is_rejected(email: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        register(email=email)

    assert raised.value.field == "email"


def test_registration_claims_the_normalised_email_for_the_new_user() -> None:
    user_id = uuid4()

    user, claim = register(user_id=user_id, email=" Mika@Example.com ")

    assert user.id == user_id
    assert claim.email == "mika@example.com"
    assert claim.user_id == user_id
    assert claim.id == email_claim_id("mika@example.com")


def test_a_new_user_starts_on_the_free_tier_and_is_not_forgotten() -> None:
    user, _ = register()

    assert user.tier == "free"
    assert not user.forgotten
    assert event_names(user) == ["Registered"]


@given(
    local=st.from_regex(r"[a-z0-9._+-]{1,20}", fullmatch=True),
    domain=st.from_regex(r"[a-z0-9-]{1,20}\.[a-z]{2,6}", fullmatch=True),
    flips=st.lists(st.booleans(), min_size=48, max_size=48),
    padding=st.sampled_from(["", " ", "\t", "  \n"]),
)
def test_emails_differing_only_by_case_and_whitespace_share_one_claim(
    local: str, domain: str, flips: list[bool], padding: str
) -> None:
    email = f"{local}@{domain}"
    variant = "".join(c.upper() if flip else c for c, flip in zip(email, flips, strict=False))
    variant += email[len(flips) :]

    assert email_claim_id(padding + variant + padding) == email_claim_id(email)
    assert normalise_email(padding + variant) == email


def test_different_emails_get_different_claims() -> None:
    assert email_claim_id("mika@example.com") != email_claim_id("mika@example.org")


def test_a_password_shorter_than_ten_characters_is_rejected() -> None:
    with pytest.raises(InvalidInput):
        check_password("x" * (MIN_PASSWORD_LENGTH - 1))


def test_a_password_of_ten_characters_is_accepted_unchanged() -> None:
    password = " 0123456 8"

    assert MIN_PASSWORD_LENGTH == 10
    assert check_password(password) == password


@pytest.mark.parametrize("password", ["y" * (MAX_PASSWORD_LENGTH + 1), None, 1234567890])
def test_a_password_too_long_or_not_text_is_rejected(password: Any) -> None:
    with pytest.raises(InvalidInput):
        check_password(password)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", ""),
        ("name", "   "),
        ("name", "n" * 101),
        ("nickname", ""),
        ("nickname", "k" * 51),
        ("nickname", "Mi\x00ka"),
        ("name", 42),
    ],
)
def test_names_and_nicknames_out_of_bounds_are_rejected(field: str, value: Any) -> None:
    with pytest.raises(InvalidInput) as raised:
        register(**{field: value})

    assert raised.value.field == field


def test_names_at_their_longest_are_accepted_and_trimmed() -> None:
    user, _ = register(name=" " + "n" * 100 + " ", nickname="k" * 50)

    assert user.name == "n" * 100
    assert user.nickname == "k" * 50


@pytest.mark.parametrize("timezone", ["UTC", "Asia/Tokyo", "America/Argentina/Buenos_Aires"])
def test_an_iana_timezone_is_accepted(timezone: str) -> None:
    user, _ = register(timezone=timezone)

    assert user.timezone == timezone


@pytest.mark.parametrize(
    "timezone", ["", "Tokyo", "Mars/Olympus_Mons", "JST+9", "../../etc/passwd", "/etc/localtime"]
)
def test_a_timezone_that_is_not_iana_is_rejected(timezone: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        register(timezone=timezone)

    assert raised.value.field == "timezone"


# -- profile and tier ----------------------------------------------------------


def test_updating_the_profile_changes_only_the_given_fields() -> None:
    user, _ = register()
    user.collect_events()

    user.update_profile(nickname="Mikachan", timezone="Europe/Paris")

    assert (user.name, user.nickname, user.timezone) == ("Mika Tanaka", "Mikachan", "Europe/Paris")
    assert event_names(user) == ["ProfileUpdated"]


def test_an_empty_profile_update_records_nothing() -> None:
    user, _ = register()
    user.collect_events()

    user.update_profile()

    assert event_names(user) == []


def test_changing_tier_records_the_new_tier() -> None:
    user, _ = register()
    user.collect_events()

    user.change_tier("premium")
    user.change_tier("ultimate")

    assert user.tier == "ultimate"
    assert event_names(user) == ["TierChanged", "TierChanged"]


def test_changing_to_the_current_tier_records_nothing() -> None:
    user, _ = register()
    user.collect_events()

    user.change_tier("free")

    assert event_names(user) == []


@pytest.mark.parametrize("tier", ["gold", "", "FREE", None])
def test_an_unknown_tier_is_rejected(tier: Any) -> None:
    user, _ = register()

    with pytest.raises(InvalidInput):
        user.change_tier(tier)

    assert user.tier == "free"


# -- forgetting ----------------------------------------------------------------


def test_forgetting_clears_personal_data() -> None:
    user, _ = register()

    user.forget()

    assert user.forgotten
    assert user.email == ""
    assert user.name == ""
    assert user.nickname == ""
    assert user.password_hash == ""


@pytest.mark.parametrize(
    "command",
    [
        lambda user: user.update_profile(name="New Name"),
        lambda user: user.change_password("$argon2id$another"),
        lambda user: user.change_tier("premium"),
    ],
    ids=["update_profile", "change_password", "change_tier"],
)
def test_a_forgotten_user_accepts_no_further_commands(command: Any) -> None:
    user, _ = register()
    user.forget()
    user.collect_events()

    with pytest.raises(UserForgotten):
        command(user)

    assert event_names(user) == []


def test_forgetting_twice_records_one_event() -> None:
    user, _ = register()
    user.collect_events()

    user.forget()
    user.forget()

    assert event_names(user) == ["Forgotten"]


# -- replay --------------------------------------------------------------------


def test_a_user_rebuilt_from_its_events_equals_the_live_user(replay: Any) -> None:
    user, _ = register()
    user.update_profile(name="Mika T.", nickname="Mikachan")
    user.change_password("$argon2id$rotated")
    user.change_tier("premium")
    user.update_profile(timezone="Europe/Paris")
    user.forget()

    rebuilt = replay(user.collect_events())

    assert isinstance(rebuilt, User)
    assert rebuilt.__dict__ == user.__dict__
    assert rebuilt.version == user.version == 6


def test_an_email_claim_rebuilt_from_its_events_equals_the_live_claim(replay: Any) -> None:
    _, claim = register(email="Someone@Example.com")

    rebuilt = replay(claim.collect_events())

    assert rebuilt.__dict__ == claim.__dict__
    assert isinstance(rebuilt.user_id, UUID)


# -- sign-up attempts ------------------------------------------------------------


def test_a_sign_up_attempt_on_the_email_is_recorded_without_what_was_sent() -> None:
    user, _ = register()
    user.collect_events()

    assert user.note_sign_up_attempt() is True

    (attempted,) = user.collect_events()
    assert isinstance(attempted, User.SignUpAttempted)
    assert set(vars(attempted)) == {"originator_id", "originator_version", "timestamp"}


def test_a_forgotten_user_is_told_of_no_sign_up_attempt() -> None:
    user, _ = register()
    user.forget()
    user.collect_events()

    assert user.note_sign_up_attempt() is False
    assert event_names(user) == []
