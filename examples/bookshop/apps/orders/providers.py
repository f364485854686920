"""The per-request context: a request-scoped provider, and a dependency that echoes its id."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from fastapi import HTTPException, Request, Response

from tausestack import Inject, provider

logger = logging.getLogger(__name__)

REQUEST_ID_HEADER = "X-Request-ID"


@dataclass(frozen=True, slots=True)
class RequestContext:
    """Facts about the HTTP request being served; one instance per request."""

    request_id: str
    method: str
    path: str


@provider(scope="request")
def request_context(request: Request) -> Iterator[RequestContext]:
    """Build the request's context from the ``X-Request-ID`` header (or a new id).

    The code after ``yield`` runs once the response has been sent, and sees the exception
    when the request failed.
    """
    request_id = request.headers.get(REQUEST_ID_HEADER) or uuid.uuid4().hex
    context = RequestContext(request_id, request.method, request.url.path)
    try:
        yield context
    except Exception as exc:
        reason = exc.status_code if isinstance(exc, HTTPException) else type(exc).__name__
        logger.info(
            "Request %s %s %s failed (%s)", request_id, context.method, context.path, reason
        )
        raise
    logger.info("Request %s %s %s completed", request_id, context.method, context.path)


async def echo_request_id(response: Response, context: Inject[RequestContext]) -> None:
    """FastAPI dependency: send the request id back in the ``X-Request-ID`` header."""
    response.headers[REQUEST_ID_HEADER] = context.request_id
