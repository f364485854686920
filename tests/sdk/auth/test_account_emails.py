"""Account emails: one bare address that mail can reach, checked the same way by every backend
that keeps accounts (the rules of ``tausestack.sdk.notify``'s addresses, plus a dot in the
domain). Markup, names, angle brackets, spaces and control characters are refused with a
message that quotes the value and says what is wrong."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tausestack.sdk.auth._emails import checked_email
from tausestack.sdk.auth.errors import InvalidUserDataError
from tausestack.sdk.auth.jwt_backend import JwtBackend
from tests.sdk.auth.test_jwt import PASSWORD, make_backend

NOT_EMAILS = [
    ("[red]x[/red]@example.com", "part before @"),
    ("Ana <ana@example.com>", "without a name or <>"),
    ("<ana@example.com>", "without a name or <>"),
    ("ana@example.com\nBcc: eve@example.com", "control character"),
    ("ana lee@example.com", "space"),
    ("ana@ex ample.com", "space"),
    ("ana@@example.com", "part before @"),
    ("ana@exa_mple.com", "not a valid domain"),
    ("ana@localhost", "no dot"),
    ("ana.example.com", "no @"),
    ("", "empty"),
    (f"{'a' * 64}@{('b' * 60 + '.') * 3}example.com", "longer than 254 characters"),
]


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[JwtBackend]:
    made = make_backend(tmp_path)
    yield made
    made.database.engine.dispose()


@pytest.mark.parametrize(("email", "reason"), NOT_EMAILS)
def test_what_is_not_one_address_is_refused_with_the_reason(email: str, reason: str) -> None:
    with pytest.raises(InvalidUserDataError) as caught:
        checked_email(email)
    message = str(caught.value)
    assert message.startswith(f"Invalid email address {email[:200]!r}: "), message
    assert reason in message
    # An account's email is never a name and an address: no advice to write one.
    assert "a name goes before it" not in message


def test_an_email_that_is_not_a_string_is_refused() -> None:
    with pytest.raises(InvalidUserDataError, match="a string such as 'ana@example.com', not int"):
        checked_email(42)


@pytest.mark.parametrize(
    "email",
    ["ana@example.com", " Ana.Lee+news@Example.COM ", "o'neil@mail.example.org", "ana@bücher.de"],
)
def test_addresses_are_accepted_as_given_without_surrounding_spaces(email: str) -> None:
    assert checked_email(email) == email.strip()


@pytest.mark.parametrize(("email", "reason"), NOT_EMAILS[:4])
def test_the_jwt_backend_creates_no_account_with_such_an_email(
    backend: JwtBackend, email: str, reason: str
) -> None:
    with pytest.raises(InvalidUserDataError, match=reason):
        backend.create_user(email, PASSWORD)
    user = backend.create_user("ana@example.com", PASSWORD)
    with pytest.raises(InvalidUserDataError, match=reason):
        backend.update_user(user.id, email=email)
    assert backend.get_user(user.id) == user


def test_the_jwt_backend_keeps_emails_lowercase(backend: JwtBackend) -> None:
    user = backend.create_user(" Ana.Lee+news@Example.COM ", PASSWORD)
    assert user.email == "ana.lee+news@example.com"
    assert backend.get_user_by_email("ANA.LEE+NEWS@example.com") == user
