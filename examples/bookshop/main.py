"""The bookshop application: ``uvicorn main:app`` from this folder.

``create_app()`` reads application.yaml from the working directory, imports the installed apps
(``apps.catalog``, ``apps.orders``), wires their components and mounts their routes.
"""

from __future__ import annotations

import logging

from tausestack import create_app

logging.basicConfig(level=logging.INFO, format="%(levelname)-9s %(name)s: %(message)s")

app = create_app()
