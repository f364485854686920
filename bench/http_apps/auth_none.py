"""(n) The TauseStack route of ``ts_singleton.py`` without auth, with the auth apps' settings.

``auth.backend: jwt`` registers the backend and the database it keeps its accounts in, so this
app has the same container and the same middleware as the other ``auth_*`` apps (the
database's request-scoped sessions add the request-scope middleware); only the route differs:
no route here asks for a user.
"""

from tausestack import create_app

from .auth_settings import bench_settings
from .ts_singleton import CHAIN, UserController

app = create_app(bench_settings(), components=[*CHAIN, UserController])
