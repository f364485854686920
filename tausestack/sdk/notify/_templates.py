"""Email templates: ``<name>.html``, ``<name>.txt`` and ``<name>.subject.txt`` rendered by Jinja2.

Folders are searched in order: ``notify.template_dirs``, then each installed app's
``templates/email/`` in ``installed_apps`` order, so a project overrides an app's template by
writing one of the same name earlier in the list. A template's parts all come from one folder,
the first that has any of them: a project that overrides ``welcome.html`` alone does not send
the app's ``welcome.txt`` (older wording) beside it. HTML templates (``.html``, ``.htm``, ``.xml``)
are autoescaped; text and subject templates are not. Every template is rendered with
``StrictUndefined``: a variable missing from the context is an error that names it, never an
empty string in a sent email.
"""

from __future__ import annotations

import importlib
import re
import sys
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from ...settings import Settings
from .errors import (
    InvalidMessageError,
    NotifyConfigurationError,
    TemplateNotFoundError,
    TemplateRenderError,
)

__all__ = ["EmailTemplates", "RenderedEmail", "template_folders"]

_NAME = re.compile(r"^[A-Za-z0-9_\-]+(?:[./][A-Za-z0-9_\-]+)*$")
_PARTS = ("html", "txt", "subject.txt")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class RenderedEmail:
    """What one template gave: any part may be None when its file does not exist."""

    subject: str | None
    text: str | None
    html: str | None


def template_folders(settings: Settings) -> list[Path]:
    """``notify.template_dirs`` (each must exist), then every installed app's
    ``templates/email/`` (where one exists)."""
    folders: list[Path] = []
    for folder in settings.notify.template_dirs:
        path = folder if folder.is_absolute() else settings.config_dir / folder
        if not path.is_dir():
            raise NotifyConfigurationError(
                f"notify.template_dirs lists {str(folder)!r}, which is not a folder ({path}). "
                "Create it or remove the entry."
            )
        folders.append(path)
    for app in settings.installed_apps:
        module = sys.modules.get(app) or importlib.import_module(app)
        for location in getattr(module, "__path__", ()):
            path = Path(location) / "templates" / "email"
            if path.is_dir():
                folders.append(path)
    return folders


class EmailTemplates:
    """Finds and renders the email templates in ``folders``: the first folder that has any
    part of a template gives all of them; ``{% extends %}`` and ``{% include %}`` search every
    folder."""

    def __init__(self, folders: Sequence[Path]) -> None:
        self.folders = list(folders)
        self.environment = jinja2.Environment(
            loader=jinja2.FileSystemLoader([str(folder) for folder in self.folders]),
            autoescape=jinja2.select_autoescape(("html", "htm", "xml"), default_for_string=False),
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,
        )

    def render(self, name: str, context: Mapping[str, Any] | None = None) -> RenderedEmail:
        """Render the parts of template ``name`` that exist.

        Raises:
            InvalidMessageError: ``name`` is not a template name (``welcome``,
                ``accounts/reset``).
            TemplateNotFoundError: neither ``<name>.html`` nor ``<name>.txt`` is in the first
                folder that has a part of the template.
            TemplateRenderError: a part uses a missing variable, has a syntax error, or raised.
        """
        check_name(name)
        values = dict(context or {})
        folder, parts = self._parts(name)
        html = self._render(f"{name}.html", values) if "html" in parts else None
        text = self._render(f"{name}.txt", values) if "txt" in parts else None
        if html is None and text is None:
            raise TemplateNotFoundError(self._not_found(name, folder))
        subject = self._render(f"{name}.subject.txt", values) if "subject.txt" in parts else None
        if subject is not None:
            subject = _SPACES.sub(" ", subject).strip()
        return RenderedEmail(subject=subject, text=text, html=html)

    def _parts(self, name: str) -> tuple[Path | None, set[str]]:
        """The first folder that has a part of ``name``, and the parts it has (``html``…)."""
        for folder in self.folders:
            found = {part for part in _PARTS if (folder / f"{name}.{part}").is_file()}
            if found:
                return folder, found
        return None, set()

    def _not_found(self, name: str, folder: Path | None) -> str:
        if folder is not None:  # it has only the subject
            return (
                f"Email template {name!r} in {folder} has {name}.subject.txt but neither "
                f"{name}.html nor {name}.txt; a template's parts all come from the first folder "
                "that has any of them. Add the body there too."
            )
        return (
            f"No email template {name!r}: neither {name}.html nor {name}.txt is in "
            f"{self._searched()}. Add one to an installed app's templates/email/ folder."
        )

    def _render(self, filename: str, context: dict[str, Any]) -> str | None:
        try:
            template = self.environment.get_template(filename)
        except jinja2.TemplateNotFound as exc:
            if exc.name != filename:  # a template it includes or extends is missing
                raise self._missing(filename, exc) from None
            return None
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateRenderError(
                f"Email template {exc.filename or filename}, line {exc.lineno}: "
                f"{_sentence(exc.message)}"
            ) from None
        where = template.filename or filename
        try:
            return template.render(context)
        except jinja2.UndefinedError as exc:
            raise TemplateRenderError(
                f"Email template {_where(exc, where)}: {_sentence(exc.message)} Pass it in "
                "context= (templates use StrictUndefined, so nothing is left blank)."
            ) from None
        except jinja2.TemplateNotFound as exc:
            raise self._missing(_where(exc, where), exc) from None
        except jinja2.TemplateError as exc:
            raise TemplateRenderError(
                f"Email template {_where(exc, where)}: {_sentence(str(exc))}"
            ) from None
        except Exception as exc:
            raise TemplateRenderError(
                f"Email template {_where(exc, where)} raised {type(exc).__name__}: {exc}"
            ) from exc

    def _missing(self, where: str, exc: jinja2.TemplateNotFound) -> TemplateRenderError:
        return TemplateRenderError(
            f"Email template {where} refers to {exc.name!r}, which is not in {self._searched()}."
        )

    def _searched(self) -> str:
        if not self.folders:
            return (
                "any folder (no installed app has a templates/email/ folder and "
                "notify.template_dirs is empty)"
            )
        return ", ".join(str(folder) for folder in self.folders)


def check_name(name: object) -> str:
    """``name`` if it can name a template, else InvalidMessageError saying why."""
    if isinstance(name, str) and name.endswith((".html", ".txt")):
        bare = name.rsplit(".", 1)[0]
        raise InvalidMessageError(
            f"Invalid template name {name!r}: leave out the extension (template={bare!r}); "
            f"{bare}.html and {bare}.txt are both looked for."
        )
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidMessageError(
            f"Invalid template name {name!r}: use the name without an extension, such as "
            "'welcome' or 'accounts/reset' (letters, digits, _ and -, folders with /)."
        )
    return name


def _sentence(text: str | None) -> str:
    return (text or "").rstrip(".") + "."


def _where(exc: BaseException, filename: str) -> str:
    """``file, line N`` of the template frame the error came from (Jinja2 rewrites tracebacks
    so template frames carry the template's file and line)."""
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == filename or frame.filename.endswith("/" + filename):
            line = frame.lineno
    return f"{filename}, line {line}" if line else filename
