"""``users create`` and ``users roles``: the first admin, and roles, without writing code.

They work on the accounts of the project's auth backend (``auth.backend: jwt`` with
``tausestack.contrib.auth``, or any backend that manages users, such as ``firebase``). The
password is read from a hidden prompt (twice) or from standard input with
``--password-stdin``, never from the command line, where ``ps`` and shell histories show it.
FastAPI, SQLAlchemy and the backends are imported when a command runs.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer

from ._output import BadInput, console, guarded

if TYPE_CHECKING:
    from ..sdk.auth import AbstractAuthBackend
    from ..settings import Settings

__all__ = ["users"]

CONTRIB_AUTH = "tausestack.contrib.auth"

users = typer.Typer(
    help="Create accounts and grant roles (auth.backend: jwt with tausestack.contrib.auth).",
    no_args_is_help=True,
)


@users.command("create")
@guarded
def create(
    email: Annotated[
        str, typer.Option("--email", help="The account's email address.", show_default=False)
    ],
    role: Annotated[
        list[str] | None,
        typer.Option("--role", help="A role to grant (repeat for several).", show_default=False),
    ] = None,
    display_name: Annotated[
        str | None, typer.Option("--display-name", help="The name to show.", show_default=False)
    ] = None,
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin", help="Read the password from standard input (for scripts)."
        ),
    ] = False,
) -> None:
    """Create an account (the password is asked twice, hidden), with roles if given."""
    email = _email(email)  # before the password is asked
    roles = sorted(set(role or ()))
    with _backend() as backend:
        if backend.get_user_by_email(email) is not None:
            raise BadInput(
                f"An account with the email {email.lower()} exists already; grant it "
                f"roles with `tausestack users roles {email.lower()} --add ROLE`."
            )
        password = _password(password_stdin)
        with _input_errors():
            user = backend.create_user(
                email, password, display_name=display_name, roles=roles, email_verified=True
            )
    granted = f" with the role(s) {', '.join(user.roles)}" if user.roles else ""
    console.print(f"Created the account {user.email} (id {user.id}){granted}.")


@users.command("roles")
@guarded
def roles(
    email: Annotated[str, typer.Argument(help="The account's email address.", show_default=False)],
    add: Annotated[
        list[str] | None,
        typer.Option("--add", help="A role to grant (repeat for several).", show_default=False),
    ] = None,
    remove: Annotated[
        list[str] | None,
        typer.Option("--remove", help="A role to take away (repeat).", show_default=False),
    ] = None,
) -> None:
    """Show an account's roles; --add and --remove change them."""
    email = _email(email)
    added, removed = set(add or ()), set(remove or ())
    both = sorted(added & removed)
    if both:
        raise BadInput(f"{', '.join(both)} is both added and removed; pick one.")
    with _backend() as backend:
        user = backend.get_user_by_email(email)
        if user is None:
            raise BadInput(
                f"No account has the email {email.lower()}; create it with "
                f"`tausestack users create --email {email.lower()}`."
            )
        if added or removed:
            wanted = sorted((set(user.roles) | added) - removed)
            with _input_errors():
                user = backend.set_roles(user.id, wanted)
    console.print(f"{user.email}: {', '.join(user.roles) if user.roles else 'no roles'}")
    if added or removed:
        console.print(
            "Tokens issued from now on carry these roles; tokens issued before keep the old "
            "ones until they expire (auth.jwt.check_account: true applies them at once)."
        )


def _password(from_stdin: bool) -> str:
    """The password from standard input (its first line, without its line ending, LF or CRLF,
    as ``docker login --password-stdin`` reads it) or a hidden prompt, asked twice."""
    if from_stdin:
        return sys.stdin.readline().removesuffix("\n").removesuffix("\r")
    if not sys.stdin.isatty():
        raise BadInput(
            "There is no terminal to ask for the password: pipe it to the command with "
            "--password-stdin (it is never read from the command line)."
        )
    password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


def _email(given: str) -> str:
    """The email address as given, without surrounding spaces (BadInput if it is not one)."""
    from ..sdk.auth._emails import checked_email

    with _input_errors():
        return checked_email(given)


@contextmanager
def _input_errors() -> Iterator[None]:
    """What the backend refuses in the given values (a malformed email, a weak password, a
    taken email) is bad input."""
    from ..sdk.auth import UserExistsError
    from ..sdk.auth.errors import InvalidUserDataError

    try:
        yield
    except (InvalidUserDataError, UserExistsError) as exc:
        raise BadInput(str(exc)) from None


@contextmanager
def _backend() -> Iterator[AbstractAuthBackend]:
    """The project's auth backend, started, and stopped afterwards."""
    import anyio

    from ..sdk.auth._providers import auth_backend
    from ..sdk.secrets._references import resolve_references
    from ._project import Project  # it imports the app module, and with it FastAPI

    project = Project.find()
    project.activate()
    settings = resolve_references(project.settings())
    _check_configuration(settings)
    backend = auth_backend(settings)
    try:
        anyio.run(backend.start)
        _check_database(backend)
        yield backend  # an oidc backend's OperationNotSupportedError says who owns the users
    finally:
        anyio.run(backend.stop)


def _check_configuration(settings: Settings) -> None:
    from ..sdk.auth.errors import AuthConfigurationError

    if settings.auth.backend is None:
        raise AuthConfigurationError(
            "auth.backend is not set, so this project has no accounts. To keep them in the "
            f"app's database, set auth.backend: jwt (with auth.jwt.secret) and add {CONTRIB_AUTH} "
            "to installed_apps in application.yaml, then create its tables with "
            "`tausestack db makemigrations` and `tausestack db upgrade`."
        )
    if settings.auth.backend == "jwt" and CONTRIB_AUTH not in settings.installed_apps:
        raise AuthConfigurationError(
            f"auth.backend is jwt, but {CONTRIB_AUTH} is not in installed_apps: its tables hold "
            "the accounts. Add it to installed_apps in application.yaml, then create its tables "
            "with `tausestack db makemigrations` and `tausestack db upgrade`."
        )


def _check_database(backend: AbstractAuthBackend) -> None:
    """The jwt backend's database must answer (else the error names its URL, password hidden,
    as ``db current`` does) and have the accounts table (a database never migrated has none)."""
    import anyio
    from sqlalchemy import inspect

    from ..contrib.auth.models import AuthAccount, AuthToken
    from ..sdk.auth.jwt_backend import JwtBackend

    if not isinstance(backend, JwtBackend):
        return
    anyio.run(backend.database.check_connections)
    engine = backend.database.engine
    tables: Sequence[str] = (AuthAccount.__tablename__, AuthToken.__tablename__)
    missing = [name for name in tables if not inspect(engine).has_table(name)]
    if missing:
        from ..sdk.database import _urls
        from ..sdk.database.errors import DatabaseError

        where = _urls.describe(engine.url)
        raise DatabaseError(
            f"The database {where} has no {' or '.join(missing)} table: it is not migrated. "
            'Run `tausestack db upgrade` (after `tausestack db makemigrations -m "auth"` if '
            f"no revision creates the {CONTRIB_AUTH} tables yet)."
        )
