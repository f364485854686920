"""Centralized settings: one pydantic-settings model fed by files, ``.env`` and the environment.

Sources, highest priority first:

1. keyword arguments (``Settings(installed_apps=[...])``),
2. environment variables (``TAUSESTACK_`` prefix, ``__`` between nested keys:
   ``TAUSESTACK_APP__DEBUG=true``),
3. the ``.env`` file in the config folder (same names as the environment),
4. ``application-<profile>.yaml``,
5. ``application.yaml``,
6. the defaults declared on the model.

The profile comes from the ``profile`` keyword, ``TAUSESTACK_PROFILE``, ``.env``, the ``profile``
key of ``application.yaml``, or ``dev``; a profile other than ``dev``, ``test`` and ``prod`` needs
its ``application-<profile>.yaml``. The config folder is the ``config_dir`` keyword,
``TAUSESTACK_CONFIG_DIR`` or the current directory.

Apps add typed sections by subclassing :class:`SettingsSection`; ``create_app()`` rebuilds the
model with every discovered section as a field, so a section is read from the same sources, is
validated with the rest and is injectable by its type::

    class UsersSettings(SettingsSection, section="users"):
        page_size: int = 20

Invalid settings raise :class:`~tausestack.errors.SettingsError` naming each key, the file or
variable its value came from and the expected type.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar, TypeVar, get_args, get_origin

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    create_model,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict
from pydantic_settings import SettingsError as PydanticSettingsError

from ._naming import describe_type, did_you_mean, snake_case
from ._redaction import (
    REDACTED,
    RedactedReprModel,
    dump_for_json,
    mask_url_secrets,
    redacted_data,
    redacted_dump_json,
    redacted_repr_args,
    secret_name,
)
from ._settings_sources import (
    ENV_PREFIX,
    LoadContext,
    LoadedSource,
    build_sources,
    current_load,
    env_variable_name,
    legacy_variable_name,
    locate,
    resolve_config_dir,
    resolve_profile,
    unknown_variables,
    yaml_line,
)
from .errors import SettingsError
from .sdk.settings import (
    AuthSettings,
    CacheSettings,
    DatabaseSettings,
    NotifySettings,
    SecretsSettings,
    StorageSettings,
    TasksSettings,
)
from .web.middleware.settings import SecuritySettings

__all__ = [
    "DEFAULT_DISCOVERY_MODULES",
    "AppSettings",
    "DiscoverySettings",
    "Settings",
    "SettingsSection",
]

SectionT = TypeVar("SectionT", bound="SettingsSection")

DEFAULT_DISCOVERY_MODULES = (
    "settings",
    "models",
    "repositories",
    "services",
    "providers",
    "controllers",
    "routes",
    "tasks",
)


class AppSettings(RedactedReprModel):
    """The FastAPI application's own options (``app:`` in application.yaml)."""

    model_config = ConfigDict(extra="forbid")

    title: str = "TauseStack"
    version: str = "0.1.0"
    description: str = ""
    debug: bool = False
    docs_url: str | None = "/docs"
    redoc_url: str | None = "/redoc"
    openapi_url: str | None = "/openapi.json"
    root_path: str = ""


class DiscoverySettings(RedactedReprModel):
    """Which modules of each installed app discovery imports (``discovery:``)."""

    model_config = ConfigDict(extra="forbid")

    modules: list[str] = Field(default_factory=lambda: list(DEFAULT_DISCOVERY_MODULES))


class SettingsSection(RedactedReprModel):
    """Base class of an app's typed settings section.

    The section's key defaults to the class name in snake case without a ``Settings`` suffix
    (``UsersSettings`` reads ``users:``); pass ``section="..."`` to choose it::

        class BillingSettings(SettingsSection, section="billing"):
            currency: str = "EUR"

    A section is injectable by its type into any component.
    """

    model_config = ConfigDict(extra="forbid")

    section_name: ClassVar[str]

    def __init_subclass__(cls, *, section: str | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        name = section or snake_case(cls.__name__.removesuffix("Settings")) or "settings"
        if not name.isidentifier():
            raise SettingsError(
                f"Settings section {cls.__qualname__} has the key {name!r}, which is not a "
                f"valid identifier. Pass section='...' with letters, digits and underscores."
            )
        cls.section_name = name


class Settings(BaseSettings):
    """TauseStack's settings; see the module docstring for sources and priorities.

    Its ``repr``, ``str`` (so f-strings and logging) and ``model_dump_json()``, and those of
    every section, mask secrets: ``SecretStr`` values, passwords in URLs, fields named like
    secrets (``api_key``…), values resolved from ``${secret:…}``. ``model_dump()`` and the
    attributes give the real values, for code that uses them (``SecretStr`` fields stay
    ``SecretStr``, and are ``**********`` with ``mode="json"``); so never return settings from
    a route.
    """

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="allow",
        validate_default=True,
    )

    profile: str = "dev"
    config_dir: Path = Field(default_factory=Path.cwd)
    installed_apps: list[str] = Field(default_factory=list)
    discovery: DiscoverySettings = Field(default_factory=DiscoverySettings)
    app: AppSettings = Field(default_factory=AppSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)
    cache: CacheSettings = Field(default_factory=CacheSettings)
    secrets: SecretsSettings = Field(default_factory=SecretsSettings)
    notify: NotifySettings = Field(default_factory=NotifySettings)
    security: SecuritySettings = Field(default_factory=SecuritySettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    tasks: TasksSettings = Field(default_factory=TasksSettings)

    _load: LoadContext | None = PrivateAttr(default=None)
    # Set on the models with_sections() builds: the class the sections were added to.
    _section_base: ClassVar[type[Settings] | None] = None

    def __init__(self, **values: Any) -> None:
        config_dir, config_dir_origin = resolve_config_dir(values)
        profile, profile_origin = resolve_profile(values, config_dir)
        context = LoadContext(
            config_dir,
            profile,
            {**values, "config_dir": config_dir, "profile": profile},
            origins={"config_dir": config_dir_origin, "profile": profile_origin},
        )
        token = current_load.set(context)
        try:
            super().__init__()
        except ValidationError as exc:
            raise _settings_error(exc, context, type(self)) from None
        except PydanticSettingsError as exc:
            raise _parsing_error(exc, context) from None
        finally:
            current_load.reset(token)
        self._load = context
        if self.model_config.get("extra") == "forbid":
            unknown = unknown_variables(config_dir / ".env", type(self).model_fields)
            if unknown:
                raise SettingsError(
                    f"Invalid settings (profile {profile!r}, config dir {config_dir}):", unknown
                )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        context = current_load.get()
        if context is None:  # pragma: no cover - __init__ always sets it
            context = LoadContext(Path.cwd(), "dev", {})
        return build_sources(settings_cls, context)

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        return redacted_repr_args(self, super().__repr_args__())

    def model_dump_json(self, *, indent: int | None = None, **options: Any) -> str:
        """The JSON text of the settings, their secrets masked (``model_dump`` keeps them).

        Takes ``model_dump_json``'s options (``include``, ``exclude``, ``exclude_none``…).
        """
        return redacted_dump_json(self, dump_for_json(self, options), indent=indent)

    # -- sections -------------------------------------------------------------------------------

    def with_sections(self, sections: Sequence[type[SettingsSection]]) -> Settings:
        """Return these settings loaded again from the same sources, with ``sections`` as fields.

        Keys that no field or section claims are rejected here, with a suggestion.
        """
        base = type(self).__dict__.get("_section_base") or type(self)
        model = _model_with_sections(base, tuple(sections))
        values = dict(self._load.init_kwargs) if self._load else self.model_dump()
        extended = model(**values)
        if self._load is not None and extended._load is not None:
            extended._load.origins = dict(self._load.origins)
        return extended

    def section(self, section_type: type[SectionT]) -> SectionT:
        """Return the loaded section of type ``section_type``."""
        value = getattr(self, section_type.section_name, None)
        if not isinstance(value, section_type):
            raise SettingsError(
                f"Settings have no section {section_type.__qualname__} "
                f"({section_type.section_name!r}). Is the app that defines it in installed_apps?"
            )
        return value

    @property
    def sections(self) -> list[SettingsSection]:
        """Every section loaded into these settings, in declaration order."""
        return [value for value in self.__dict__.values() if isinstance(value, SettingsSection)]

    def source_of(self, *path: str) -> str:
        """Describe where the value at ``path`` came from (a file, a variable or the defaults)."""
        if self._load is None:
            return "defaults"
        if len(path) == 1 and path[0] in self._load.origins:
            return self._load.origins[path[0]]
        source, _ = locate(self._load.sources, path)
        return _describe_origin(source, path)


@functools.lru_cache(maxsize=32)
def _model_with_sections(
    base: type[Settings], sections: tuple[type[SettingsSection], ...]
) -> type[Settings]:
    fields: dict[str, Any] = {}
    owners: dict[str, type[SettingsSection]] = {}
    for section in sections:
        name = section.section_name
        if name in base.model_fields:
            raise SettingsError(
                f"Settings section {section.__module__}.{section.__qualname__} uses the key "
                f"{name!r}, which TauseStack's own settings already use. Pass another name: "
                f"class {section.__name__}(SettingsSection, section='...')."
            )
        if name in owners and owners[name] is not section:
            other = owners[name]
            raise SettingsError(
                f"Two settings sections use the key {name!r}: {other.__module__}."
                f"{other.__qualname__} and {section.__module__}.{section.__qualname__}. "
                "Give one of them another name with section='...'."
            )
        owners[name] = section
        required = any(field.is_required() for field in section.model_fields.values())
        fields[name] = (section, ...) if required else (section, Field(default_factory=section))
    model: type[Settings] = create_model(
        base.__name__,
        __base__=base,
        __module__=base.__module__,
        __config__=None,
        **fields,
    )
    model.model_config["extra"] = "forbid"
    model._section_base = base
    model.model_rebuild(force=True)
    return model


def _settings_error(
    exc: ValidationError, context: LoadContext, model: type[BaseModel]
) -> SettingsError:
    problems = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        key = ".".join(str(part) for part in loc)
        source, raw = locate(context.sources, loc)
        where = _describe_origin(source, loc)
        if error["type"] == "extra_forbidden":
            known = _fields_at(model, loc[:-1])
            hint = did_you_mean(str(loc[-1]), known)
            if not hint and len(loc) == 1:
                hint = " If it belongs to an app's SettingsSection, add that app to installed_apps."
            problems.append(f"{key}: unknown setting (from {where}).{hint}")
        elif error["type"] == "missing":
            expected = describe_type(_annotation_at(model, loc))
            problems.append(
                f"{key}: required, expected {expected}; no source sets it. Add it to "
                f"application.yaml or set {env_variable_name(loc)}."
            )
        else:
            expected = describe_type(_annotation_at(model, loc))
            shown = _quoted(_annotation_at(model, loc), loc, raw)
            message = _masked_message(error["msg"], _annotation_at(model, loc), loc, raw)
            problems.append(f"{key}: {message}; got {shown} from {where}; expected {expected}.")
    return SettingsError(
        f"Invalid settings (profile {context.profile!r}, config dir {context.config_dir}):",
        problems,
    )


def _quoted(annotation: Any, loc: tuple[str | int, ...], raw: Any) -> str:
    """``raw`` as an error quotes it, its secrets masked as the settings' reprs mask them: a
    value of a ``SecretStr`` field or under a secret name whole, URL passwords inside."""
    return repr(redacted_data(raw, secret=_holds_secret(annotation, loc, raw)))


def _masked_message(message: str, annotation: Any, loc: tuple[str | int, ...], raw: Any) -> str:
    """A validator's message, which may quote the value (``'redis://:pw@h' is not a rate
    limit``), masked like :func:`_quoted`: URL passwords, and the whole value of a secret."""
    text = str(raw) if isinstance(raw, str | int | float) and not isinstance(raw, bool) else ""
    if text and _holds_secret(annotation, loc, raw):
        message = message.replace(text, REDACTED)
    return mask_url_secrets(message)


def _holds_secret(annotation: Any, loc: tuple[str | int, ...], raw: Any) -> bool:
    name = next((part for part in reversed(loc) if isinstance(part, str)), "")
    return _declares_secret(annotation) or secret_name(name, raw)


def _declares_secret(annotation: Any) -> bool:
    if annotation is SecretStr:
        return True
    return any(_declares_secret(argument) for argument in get_args(annotation))


def _parsing_error(exc: PydanticSettingsError, context: LoadContext) -> SettingsError:
    """pydantic-settings names the field and its source class; name the variable instead."""
    text = str(exc)
    match = re.search(r'field "(\w+)" from source "(\w+)"', text)
    where = ""
    if match:
        variable = env_variable_name((match.group(1),))
        dotenv = match.group(2).startswith("DotEnv")
        where = f" {variable} in {context.config_dir / '.env'}" if dotenv else f" {variable}"
    return SettingsError(
        f"Invalid settings (profile {context.profile!r}, config dir {context.config_dir}): "
        f"cannot parse{where or ' a value'} ({text}). Values of list or mapping settings given "
        "as environment variables must be JSON, e.g. '[\"apps.users\"]'."
    )


def _describe_origin(source: LoadedSource, loc: tuple[str | int, ...]) -> str:
    if source.kind == "env":
        return f"environment variable {env_variable_name(loc)}"
    if source.kind == "dotenv":
        return f"{source.origin} ({env_variable_name(loc)})"
    if source.kind == "legacy":
        return f"{legacy_variable_name(loc)} (a variable of the original SDK)"
    if source.kind == "yaml" and source.path is not None:
        line = yaml_line(source.path, loc)
        return f"{source.origin}:{line}" if line else source.origin
    if source.kind == "kwargs":
        return "keyword argument"
    return "defaults"


def _annotation_at(model: type[BaseModel], loc: tuple[str | int, ...]) -> Any:
    annotation: Any = model
    for part in loc:
        annotation = _strip_optional(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = annotation.model_fields.get(str(part))
            if field is None:
                return annotation
            annotation = field.annotation
        elif isinstance(part, int) and get_args(annotation):
            annotation = get_args(annotation)[0]
        elif get_origin(annotation) is dict and get_args(annotation):
            annotation = get_args(annotation)[1]
        else:
            return annotation
    return annotation


def _fields_at(model: type[BaseModel], loc: tuple[str | int, ...]) -> list[str]:
    annotation = _strip_optional(_annotation_at(model, loc))
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return list(annotation.model_fields)
    return []


def _strip_optional(annotation: Any) -> Any:
    args = [arg for arg in get_args(annotation) if arg is not type(None)]
    if len(args) == 1 and type(None) in get_args(annotation):
        return args[0]
    return annotation
