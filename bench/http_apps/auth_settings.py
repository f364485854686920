"""The settings every ``auth_*`` app shares, read from what ``bench/auth_overhead.py`` prepared.

The bench script creates a SQLite database with the ``jwt`` backend's tables, a user and a
token in a temporary folder before any server starts, and passes that folder in the
``BENCH_AUTH_DIR`` environment variable: ``auth.db`` is the database and ``secret`` holds the
HS256 key. Every variant, (n) included, gets the same settings, so only the route differs.
"""

import logging
import os
from pathlib import Path

from tausestack import Settings

#: The environment variable naming the folder the bench script prepared.
DIR_VARIABLE = "BENCH_AUTH_DIR"
DATABASE_FILE = "auth.db"
SECRET_FILE = "secret"
#: Seconds a bench token is valid (the backend's maximum): longer than any run.
ACCESS_TTL = 86_400
#: The role the (r) route asks for.
ROLE = "reader"

# The bench checks that requests without a valid token are refused before it measures; keep
# those expected refusals' audit records off stderr. Measured requests log nothing.
logging.getLogger("tausestack.audit").addHandler(logging.NullHandler())


def auth_settings(folder: Path, *, verified_cache: int | None = None) -> Settings:
    """The settings of the bench apps, over the database and secret in ``folder``."""
    jwt: dict[str, object] = {
        "secret": (folder / SECRET_FILE).read_text().strip(),
        "access_ttl": ACCESS_TTL,
    }
    if verified_cache is not None:
        jwt["verified_cache"] = verified_cache
    return Settings(
        config_dir=folder,
        installed_apps=[],
        database={"url": f"sqlite:///{folder / DATABASE_FILE}"},
        auth={"backend": "jwt", "jwt": jwt},
    )


def bench_settings(*, verified_cache: int | None = None) -> Settings:
    """:func:`auth_settings` for the folder in ``BENCH_AUTH_DIR``."""
    folder = os.environ.get(DIR_VARIABLE)
    if not folder:
        raise RuntimeError(
            f"{DIR_VARIABLE} is not set: these apps are started by bench/auth_overhead.py, "
            "which prepares the database, the user and the token first."
        )
    return auth_settings(Path(folder), verified_cache=verified_cache)
