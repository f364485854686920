"""What the framework answers on its own, added to every app's OpenAPI document.

FastAPI answers ``400 {"detail": "There was an error parsing the body"}`` when a request body
cannot be read (JSON that is not UTF-8, a broken multipart form) but does not declare it, so a
client generated from the document, or schemathesis, meets an undocumented status. Each
operation that takes a body declares it here, unless the route declares its own 400.
"""

from __future__ import annotations

import copy
from typing import Any

from fastapi import FastAPI

__all__ = ["UNREADABLE_BODY", "document_request_errors"]

UNREADABLE_BODY: dict[str, Any] = {
    "description": (
        "The request body could not be read: JSON that is not UTF-8, or a form that is not in "
        "the encoding its Content-Type names."
    ),
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {"detail": {"type": "string"}},
                "required": ["detail"],
            }
        }
    },
}


def document_request_errors(app: FastAPI) -> None:
    """Declare the 400 of an unreadable body on each operation with a request body, each time
    FastAPI generates the document (once per route set)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        schema = generate()
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                if isinstance(operation, dict) and "requestBody" in operation:
                    responses = operation.setdefault("responses", {})
                    responses.setdefault("400", copy.deepcopy(UNREADABLE_BODY))
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
