"""(e) TauseStack as (c), with the secure-by-default HTTP layer turned off.

No security headers and no body size limit: the difference to (c) is what those two pure ASGI
middlewares cost per request.
"""

from tausestack import Settings, create_app

from .ts_singleton import CHAIN, UserController

app = create_app(
    Settings(installed_apps=[], security={"headers": {"enabled": False}, "max_body_size": None}),
    components=[*CHAIN, UserController],
)
