"""Finding the project a command runs in, and loading its settings and application."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._output import BadInput

if TYPE_CHECKING:
    from ..app import TauseStackApp
    from ..settings import Settings

CONFIG_FILE = "application.yaml"
DEFAULT_APP = "main:app"


@dataclass(frozen=True)
class Project:
    """A TauseStack project: the folder holding ``application.yaml``."""

    root: Path

    @classmethod
    def find(cls, start: Path | None = None) -> Project:
        """The project containing ``start`` (default: the current directory), looking upwards."""
        here = (start or Path.cwd()).resolve()
        for folder in (here, *here.parents):
            if (folder / CONFIG_FILE).is_file():
                return cls(folder)
        raise BadInput(
            f"Not inside a TauseStack project: no {CONFIG_FILE} in {here} or its parents. "
            "cd into a project, or create one with `tausestack init NAME`."
        )

    def activate(self) -> None:
        """Make the project importable and its settings findable, as `uvicorn main:app` would."""
        os.chdir(self.root)
        if str(self.root) not in sys.path:
            sys.path.insert(0, str(self.root))

    def settings(self) -> Settings:
        """The project's settings (without app sections; use the app's for those)."""
        from ..settings import Settings

        return Settings(config_dir=self.root)

    def app_location(self, reference: str) -> tuple[str, str]:
        """Split and check ``module:attribute``; raise BadInput saying where it looked."""
        module, _, attribute = reference.partition(":")
        if not module or not attribute or not attribute.isidentifier():
            raise BadInput(
                f"--app must look like module:attribute (e.g. {DEFAULT_APP}), not '{reference}'."
            )
        self.activate()
        try:
            spec = importlib.util.find_spec(module)
        except ModuleNotFoundError:
            spec = None
        if spec is None:
            where = self.root / (module.replace(".", "/") + ".py")
            raise BadInput(
                f"No app found: looked for '{attribute}' in module '{module}' ({where} does not "
                "exist). Create it with `app = create_app()`, or pass --app module:attribute."
            )
        return module, attribute

    def load_app(self, reference: str = DEFAULT_APP) -> Any:
        """Import ``module:attribute`` from the project and return the application object."""
        module_name, attribute = self.app_location(reference)
        module = importlib.import_module(module_name)
        app = getattr(module, attribute, None)
        if app is None:
            raise BadInput(
                f"No app found: module '{module_name}' ({module.__file__}) has no '{attribute}'. "
                "Add `app = create_app()` to it, or pass --app module:attribute."
            )
        return app

    def load_tausestack_app(self, reference: str = DEFAULT_APP) -> TauseStackApp:
        """Like :meth:`load_app`, but the app must come from ``tausestack.create_app()``."""
        from ..app import TauseStackApp

        app = self.load_app(reference)
        if not isinstance(app, TauseStackApp):
            raise BadInput(
                f"{reference} is a {type(app).__name__}, not an app built by "
                "tausestack.create_app(); build it with create_app() to use this command."
            )
        return app
