"""JSON request bodies that are Unicode text: UTF-8, with no lone surrogate.

:class:`UnicodeJsonRoute` is the route class of every route a TauseStack app mounts (the app's
own, its controllers', and the routers of ``create_app(routers=...)`` and installed apps'
``routes`` modules): FastAPI's ``json.loads`` takes UTF-16 and UTF-32 bodies and surrogates, and
a lone surrogate that passes validation fails when it is stored or echoed (a 500).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute

__all__ = ["UnicodeJsonRoute", "refuse_lone_surrogates"]

_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


class _UnicodeJsonRequest(Request):
    """A request whose JSON body is UTF-8 (RFC 8259 §8.1) and holds no lone surrogate
    (``"\\ud800"``): no text field could store or send one back.

    ``json.loads`` alone would take UTF-16 and UTF-32 bodies and surrogates written as UTF-8
    bytes, all with ``surrogatepass``; decoding strictly first refuses those (FastAPI's 400), so
    only escapes remain to look for, and the parsed body is walked only when it has one.
    """

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            body = await self.body()
            value = json.loads(body.decode("utf-8-sig"))
            if _SURROGATE_ESCAPE.search(body):
                position = _lone_surrogate(value)
                if position is not None:
                    raise json.JSONDecodeError(
                        f"lone surrogate {position!r} is not Unicode text",
                        body.decode(errors="replace"),
                        0,
                    )
            self._json = value
        return self._json


def _lone_surrogate(value: Any) -> str | None:
    """The first lone surrogate in a parsed JSON value (keys included), escaped, or None."""
    if isinstance(value, str):
        found = _SURROGATE.search(value)
        return found.group().encode("utf-8", "backslashreplace").decode() if found else None
    children = [*value, *value.values()] if isinstance(value, dict) else value
    for child in children if isinstance(value, dict | list) else ():
        inner = _lone_surrogate(child)
        if inner is not None:
            return inner
    return None


class UnicodeJsonRoute(APIRoute):
    """The route class of TauseStack apps: a JSON body holding a lone surrogate is a 422
    (``json_invalid``) instead of text that fails when it is stored or echoed (a 500)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def unicode_json(request: Request) -> Response:
            return await handler(_UnicodeJsonRequest(request.scope, request.receive))

        return unicode_json


def refuse_lone_surrogates(router: APIRouter) -> None:
    r"""Make the plain ``APIRoute``\ s of ``router`` (and of the routers it includes)
    :class:`UnicodeJsonRoute`\ s before it is included: their handlers are built when the
    including app first reads its routes. Routes of other classes keep theirs."""
    for route in router.routes:
        if type(route) is APIRoute:
            route.__class__ = UnicodeJsonRoute
        included = getattr(route, "original_router", None)
        if isinstance(included, APIRouter):
            refuse_lone_surrogates(included)
