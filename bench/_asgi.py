"""The ASGI scope of a plain ``GET``, shared by the in-process benchmarks."""

from typing import Any


def get_scope(path: str) -> dict[str, Any]:
    """A fresh HTTP scope for ``GET path`` (a new dict per request, as a server gives)."""
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"bench")],
        "client": ("127.0.0.1", 1),
        "server": ("bench", 80),
    }
