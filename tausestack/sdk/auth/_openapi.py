"""The auth part of an application's OpenAPI document.

FastAPI lists the security scheme of each guarded operation but not what the guard answers,
and its ``HTTPBearer`` scheme gives Swagger's Authorize button nothing to log in with. Once the
document is generated this adds, from the routes' own dependencies (nothing runs twice per
request: the document is generated once):

- a ``401`` and a ``403`` response with the refusal's body, ``AuthRefusal``, to every
  operation that authenticates: any of them answers 403 to a disabled account
  (``user_disabled``), and those with roles or permissions to a user without them;
- ``security: [{}, {...}]`` (anonymous allowed) where the user is optional;
- with ``tausestack.contrib.auth``, an OAuth2 password flow whose ``tokenUrl`` is its login
  route in place of the bearer scheme, so Authorize logs in with an email and a password.
  The URL is relative (``auth/login``), as FastAPI's own ``OAuth2PasswordBearer`` advises:
  Swagger UI resolves it against the document's server, which FastAPI sets to the root path
  the app is served under (``app.root_path``, or the server's ``--root-path`` behind a proxy).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel, Field

from ._integration import SAFE_METHODS, SCHEME_NAME, Authenticate

if TYPE_CHECKING:
    from fastapi import FastAPI
    from fastapi.dependencies.models import Dependant

__all__ = ["OAUTH2_SCHEME_NAME", "AuthRefusal", "AuthRefusalDetail", "document"]

OAUTH2_SCHEME_NAME = "OAuth2PasswordBearer"
LOGIN_ENDPOINT = ("tausestack.contrib.auth.controllers", "AuthController.login")
UNAUTHORIZED = (
    "Not authenticated: the token is missing, malformed, expired or revoked (`detail.reason` "
    "says which: `missing_token`, `token_expired`…)."
)
MISSING_GRANT = "a role or permission is missing (`missing_role`, `missing_permission`)"
DISABLED = "the account is disabled (`user_disabled`)"
NO_CSRF_TOKEN = "the session cookie came without its CSRF token (`csrf_failed`)"


class AuthRefusalDetail(BaseModel):
    """Why auth refused a request: a stable code for programs, a sentence for people."""

    reason: str = Field(
        description="A stable code (docs/auth.md lists them all).", examples=["token_expired"]
    )
    message: str = Field(examples=["The token has expired."])


class AuthRefusal(BaseModel):
    """The body of a 401 or 403 answered by authentication."""

    detail: AuthRefusalDetail


@dataclass
class Guard:
    """What the auth dependencies of one operation ask."""

    authenticates: bool = False
    required: bool = False
    restricted: bool = False  # roles or permissions apply

    def add(self, check: Authenticate) -> None:
        self.authenticates = True
        self.required = self.required or check.required
        self.restricted = self.restricted or bool(check.roles or check.permissions)


def document(app: FastAPI, schema: dict[str, Any]) -> None:
    """Add the auth answers and the right security scheme to ``schema`` (in place)."""
    paths: dict[str, Any] = schema.get("paths", {})
    guarded = False
    login: str | None = None
    for context in iter_route_contexts(app.router.routes):
        if not isinstance(context.original_route, APIRoute):
            continue
        endpoint = context.endpoint
        named = (getattr(endpoint, "__module__", None), getattr(endpoint, "__qualname__", None))
        if named == LOGIN_ENDPOINT:
            login = context.path_format
        guard = Guard()
        _collect(context.dependant, guard)
        operations = paths.get(context.path_format or "", {})
        for method in context.methods or ():
            operation = operations.get(method.lower())
            if operation is not None and guard.authenticates:
                guarded = True
                _document_operation(operation, guard, method)
    if not guarded:
        return
    components = schema.setdefault("components", {})
    definitions = AuthRefusal.model_json_schema(ref_template="#/components/schemas/{model}")
    nested = definitions.pop("$defs", {})
    schemas = components.setdefault("schemas", {})
    for name, definition in {**nested, AuthRefusal.__name__: definitions}.items():
        schemas.setdefault(name, definition)
    if login is not None:
        _use_password_flow(schema, login)


def _collect(dependant: Dependant, guard: Guard) -> None:
    for sub_dependant in dependant.dependencies:
        if isinstance(sub_dependant.call, Authenticate):
            guard.add(sub_dependant.call)
        _collect(sub_dependant, guard)


def _document_operation(operation: dict[str, Any], guard: Guard, method: str) -> None:
    responses = operation.setdefault("responses", {})
    body = {"application/json": {"schema": {"$ref": "#/components/schemas/AuthRefusal"}}}
    responses.setdefault("401", {"description": UNAUTHORIZED, "content": body})
    reasons = [MISSING_GRANT] if guard.restricted else []
    reasons.append(DISABLED)
    if method.upper() not in SAFE_METHODS:
        reasons.append(NO_CSRF_TOKEN)
    listed = reasons[0] if len(reasons) == 1 else f"{', '.join(reasons[:-1])}, or {reasons[-1]}"
    forbidden = f"Authenticated, but refused: {listed}."
    responses.setdefault("403", {"description": forbidden, "content": body})
    security: list[dict[str, Any]] = operation.get("security", [])
    if not guard.required and {} not in security:
        operation["security"] = [{}, *security]  # anonymous, or with a token


def _use_password_flow(schema: dict[str, Any], login: str) -> None:
    """Replace the bearer scheme with an OAuth2 password flow that logs in at ``login``."""
    schemes: dict[str, Any] = schema.get("components", {}).get("securitySchemes", {})
    if SCHEME_NAME not in schemes:
        return
    bearer = schemes.pop(SCHEME_NAME)
    schemes[OAUTH2_SCHEME_NAME] = {
        "type": "oauth2",
        "description": bearer.get("description", ""),
        "flows": {"password": {"tokenUrl": login.lstrip("/"), "scopes": {}}},
    }
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            for requirement in operation.get("security", ()):
                if SCHEME_NAME in requirement:
                    requirement[OAUTH2_SCHEME_NAME] = requirement.pop(SCHEME_NAME)
