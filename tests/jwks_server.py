"""An OpenID provider's key set served over HTTP on a free loopback port, for the ``oidc``
backend's tests: the issuer is the server's base URL + ``/issuer``."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

ISSUER_PATH = "/issuer"
AUDIENCE = "api://shop"


class Keys:
    """RSA keys; the JWKS server publishes ``published``."""

    def __init__(self) -> None:
        self.current = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.published: list[tuple[str, Any]] = [("key-1", self.current)]
        self.fetches = 0

    def jwks(self) -> dict[str, Any]:
        keys = []
        for kid, key in self.published:
            jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
            keys.append({**jwk, "kid": kid, "use": "sig", "alg": "RS256"})
        return {"keys": keys}


@contextmanager
def jwks_provider() -> Iterator[tuple[str, Keys]]:
    """A JWKS endpoint on a free loopback port: the issuer is its base URL + /issuer."""
    keys = Keys()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != ISSUER_PATH + "/.well-known/jwks.json":
                self.send_error(404)
                return
            keys.fetches += 1
            body = json.dumps(keys.jwks()).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}{ISSUER_PATH}", keys
    server.shutdown()
    server.server_close()


def token(issuer: str, key: Any, kid: str = "key-1", **claims: Any) -> str:
    """An RS256 token from ``issuer`` (claims set to None are left out)."""
    now = int(time.time())
    payload = {"iss": issuer, "aud": AUDIENCE, "sub": "user-1", "iat": now, "exp": now + 300}
    payload.update(claims)
    payload = {name: value for name, value in payload.items() if value is not None}
    return jwt.encode(payload, key, algorithm="RS256", headers={"kid": kid})
