"""The settings sources and the bookkeeping that lets errors name the file a value came from.

pydantic-settings merges the sources for us; each source here is wrapped so the data it returned
is recorded next to a human description of where it came from. When validation fails, the
error's location is looked up in that record, highest priority first.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic_settings import (
    DotEnvSettingsSource,
    EnvSettingsSource,
    InitSettingsSource,
    PydanticBaseSettingsSource,
)

from ._naming import did_you_mean, near_matches
from .errors import SettingsError

if TYPE_CHECKING:
    from pydantic.fields import FieldInfo
    from pydantic_settings import BaseSettings

ENV_PREFIX = "TAUSESTACK_"
NESTED_DELIMITER = "__"
BASE_FILE = "application.yaml"

#: Variables of the original TauseStack SDK that keep working: each sets one nested key. The
#: current names (``TAUSESTACK_STORAGE__BACKEND``…) win when both are set.
LEGACY_VARIABLES: dict[str, tuple[str, ...]] = {
    "TAUSESTACK_STORAGE_BACKEND": ("storage", "backend"),
    "TAUSESTACK_S3_BUCKET_NAME": ("storage", "s3", "bucket"),
    "TAUSESTACK_LOCAL_STORAGE_PATH": ("storage", "local", "root"),
    "TAUSESTACK_SECRETS_BACKEND": ("secrets", "backend"),
    "TAUSESTACK_NOTIFY_BACKEND": ("notify", "backend"),
    "TAUSESTACK_NOTIFY_LOCAL_FILE_PATH": ("notify", "file", "path"),
    "TAUSESTACK_NOTIFY_SES_SOURCE_EMAIL": ("notify", "sender"),
    "TAUSESTACK_NOTIFY_SES_AWS_REGION": ("notify", "ses", "region"),
}


#: Profiles every project has, whether or not it has an ``application-<profile>.yaml``.
BUILT_IN_PROFILES = ("dev", "test", "prod")


def profile_file(profile: str) -> str:
    """Return the name of the YAML file that holds one profile's settings."""
    return f"application-{profile}.yaml"


@dataclass
class LoadedSource:
    """What one source returned, and a description of where it came from."""

    kind: str  # "kwargs", "env", "dotenv", "legacy", "yaml", "default"
    origin: str  # shown to users: a file path or "environment variables"
    data: dict[str, Any]
    path: Path | None = None


@dataclass
class LoadContext:
    """Everything a load needs before pydantic-settings asks for its sources."""

    config_dir: Path
    profile: str
    init_kwargs: dict[str, Any]
    sources: list[LoadedSource] = field(default_factory=list)
    #: Where the profile and the config folder came from (they are resolved before loading).
    origins: dict[str, str] = field(default_factory=dict)


current_load: ContextVar[LoadContext | None] = ContextVar("tausestack_settings_load", default=None)


class _RecordingSource(PydanticBaseSettingsSource):
    """Wraps a source and records what it returned in the current load context."""

    def __init__(self, inner: PydanticBaseSettingsSource, record: LoadedSource) -> None:
        super().__init__(inner.settings_cls)
        self._inner = inner
        self._record = record

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self._inner.get_field_value(field, field_name)

    def __call__(self) -> dict[str, Any]:
        data = self._inner()
        self._record.data = data
        return data


class YamlFileSource(InitSettingsSource):
    """One YAML file, read with ``yaml.safe_load``; a missing file contributes nothing."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path) -> None:
        super().__init__(settings_cls, read_yaml(path))


class LegacyVariablesSource(InitSettingsSource):
    """The original SDK's variables (:data:`LEGACY_VARIABLES`), from the environment or ``.env``."""

    def __init__(self, settings_cls: type[BaseSettings], dotenv_path: Path) -> None:
        data: dict[str, Any] = {}
        for name, path in LEGACY_VARIABLES.items():
            value = os.environ.get(name)
            if value is None:
                value = _dotenv_value(dotenv_path, name)
            if value is None:
                continue
            node = data
            for part in path[:-1]:
                node = node.setdefault(part, {})
            node[path[-1]] = value
        super().__init__(settings_cls, data)


def legacy_variable_name(loc: tuple[str | int, ...]) -> str | None:
    """The original SDK's variable that sets ``loc``, if one does."""
    for name, path in LEGACY_VARIABLES.items():
        if path == tuple(str(part) for part in loc):
            return name
    return None


def read_yaml(path: Path) -> dict[str, Any]:
    """Read a YAML settings file into a mapping, with errors that name the file and line."""
    if not path.is_file():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise SettingsError(
            f"Cannot read settings file {where}: {exc.problem or exc}. Fix the YAML syntax."
        ) from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise SettingsError(f"Cannot read settings file {path}: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SettingsError(
            f"Settings file {path} must hold a mapping of keys to values at the top level, "
            f"not a {type(data).__name__}."
        )
    return data


def build_sources(
    settings_cls: type[BaseSettings], context: LoadContext
) -> tuple[PydanticBaseSettingsSource, ...]:
    """Return the sources in priority order, each recording what it returned."""
    dotenv_path = context.config_dir / ".env"
    profile_path = context.config_dir / profile_file(context.profile)
    base_path = context.config_dir / BASE_FILE
    plan: list[tuple[PydanticBaseSettingsSource, LoadedSource]] = [
        (
            InitSettingsSource(settings_cls, context.init_kwargs),
            LoadedSource("kwargs", "keyword arguments", {}),
        ),
        (
            EnvSettingsSource(
                settings_cls, env_prefix=ENV_PREFIX, env_nested_delimiter=NESTED_DELIMITER
            ),
            LoadedSource("env", "environment variable", {}),
        ),
        (
            DotEnvSettingsSource(
                settings_cls,
                env_file=dotenv_path,
                dotenv_filtering="only_existing",
                env_prefix=ENV_PREFIX,
                env_nested_delimiter=NESTED_DELIMITER,
            ),
            LoadedSource("dotenv", str(dotenv_path), {}, dotenv_path),
        ),
        (
            LegacyVariablesSource(settings_cls, dotenv_path),
            LoadedSource("legacy", "a variable of the original SDK", {}),
        ),
        (
            YamlFileSource(settings_cls, profile_path),
            LoadedSource("yaml", str(profile_path), {}, profile_path),
        ),
        (
            YamlFileSource(settings_cls, base_path),
            LoadedSource("yaml", str(base_path), {}, base_path),
        ),
    ]
    context.sources = [record for _, record in plan]
    return tuple(_RecordingSource(source, record) for source, record in plan)


def resolve_profile(init_kwargs: dict[str, Any], config_dir: Path) -> tuple[str, str]:
    """Pick the active profile and say where it came from.

    Keyword, ``TAUSESTACK_PROFILE`` (environment, then ``.env``), application.yaml, or dev. A
    profile that is neither built in nor has its ``application-<profile>.yaml`` is refused
    (a typo would otherwise run the app with the base settings alone).
    """
    profile, origin = _find_profile(init_kwargs, config_dir)
    if not profile.strip():
        raise SettingsError(
            f"The profile is empty (from {origin}): set it to a profile's name, or unset it for "
            f"the default, dev. {_known_profiles(config_dir)}"
        )
    if profile not in BUILT_IN_PROFILES and not (config_dir / profile_file(profile)).is_file():
        raise SettingsError(_unknown_profile(profile, origin, config_dir))
    return profile, origin


def _find_profile(init_kwargs: dict[str, Any], config_dir: Path) -> tuple[str, str]:
    explicit = init_kwargs.get("profile")
    if explicit is not None:
        return str(explicit), "keyword argument"
    variable = ENV_PREFIX + "PROFILE"
    for name, value in os.environ.items():
        if name.upper() == variable:
            return value, f"environment variable {variable}"
    dotenv_path = config_dir / ".env"
    dotenv_value = _dotenv_value(dotenv_path, variable)
    if dotenv_value is not None:
        return dotenv_value, f"{dotenv_path} ({variable})"
    base_path = config_dir / BASE_FILE
    base_value = read_yaml(base_path).get("profile")
    if base_value is not None:
        line = yaml_line(base_path, ("profile",))
        return str(base_value), f"{base_path}:{line}" if line else str(base_path)
    return "dev", "defaults"


def _unknown_profile(profile: str, origin: str, config_dir: Path) -> str:
    return (
        f"Unknown profile {profile!r} (from {origin}): there is no "
        f"{config_dir / profile_file(profile)}."
        f"{did_you_mean(profile, [*BUILT_IN_PROFILES, *_profiles_with_a_file(config_dir)])} "
        f"{_known_profiles(config_dir)} Fix the name, or create {profile_file(profile)} (it may "
        "be empty) to add the profile."
    )


def _known_profiles(config_dir: Path) -> str:
    with_file = _profiles_with_a_file(config_dir)
    return (
        f"Known profiles: built in: {', '.join(sorted(BUILT_IN_PROFILES))}; with a file: "
        f"{', '.join(with_file) or 'none'}."
    )


def _profiles_with_a_file(config_dir: Path) -> list[str]:
    prefix, suffix = profile_file("*").split("*")
    return sorted(
        path.name.removeprefix(prefix).removesuffix(suffix)
        for path in config_dir.glob(profile_file("*"))
        if path.is_file() and path.name != profile_file("")
    )


def resolve_config_dir(init_kwargs: dict[str, Any]) -> tuple[Path, str]:
    """Pick the folder holding application.yaml and .env, and say why: keyword, env, or cwd."""
    if init_kwargs.get("config_dir"):
        explicit, origin = init_kwargs["config_dir"], "keyword argument"
    elif os.environ.get(ENV_PREFIX + "CONFIG_DIR"):
        explicit = os.environ[ENV_PREFIX + "CONFIG_DIR"]
        origin = f"environment variable {ENV_PREFIX}CONFIG_DIR"
    else:
        return Path.cwd().resolve(), "the current directory"
    path = Path(explicit)
    if not path.is_dir():
        raise SettingsError(
            f"config_dir {str(path)!r} is not a folder. Point it (or {ENV_PREFIX}CONFIG_DIR) at "
            f"the folder that holds {BASE_FILE}."
        )
    return path.resolve(), origin


def unknown_variables(dotenv_path: Path, fields: Iterable[str]) -> list[str]:
    """Problems for ``TAUSESTACK_*`` variables (environment or .env) that set no known key."""
    known = {field.lower() for field in fields}
    sources: list[tuple[str, Iterable[str]]] = [("environment variable", list(os.environ))]
    if dotenv_path.is_file():
        from dotenv import dotenv_values

        sources.append((str(dotenv_path), list(dotenv_values(dotenv_path))))
    problems = []
    for origin, variables in sources:
        for name in sorted(variables):
            if not name.upper().startswith(ENV_PREFIX) or name.upper() in LEGACY_VARIABLES:
                continue
            top, _, rest = name[len(ENV_PREFIX) :].lower().partition(NESTED_DELIMITER)
            if top in known:
                continue
            tail = (NESTED_DELIMITER + rest).upper() if rest else ""
            suggestions = [ENV_PREFIX + match.upper() + tail for match in near_matches(top, known)]
            hint = did_you_mean(name, suggestions) if suggestions else ""
            problems.append(f"{name}: unknown setting (from {origin}).{hint}")
    return problems


def _dotenv_value(path: Path, name: str) -> str | None:
    if not path.is_file():
        return None
    from dotenv import dotenv_values

    for key, value in dotenv_values(path).items():
        if key.upper() == name and value is not None:
            return value
    return None


def locate(sources: list[LoadedSource], loc: tuple[str | int, ...]) -> tuple[LoadedSource, Any]:
    """Return the highest-priority source that set ``loc``, and the raw value it gave."""
    for source in sources:
        found, value = _dig(source.data, loc)
        if found:
            return source, value
    return LoadedSource("default", "defaults", {}), None


def _dig(data: Any, loc: tuple[str | int, ...]) -> tuple[bool, Any]:
    for part in loc:
        if isinstance(data, dict):
            match = _lookup_key(data, part)
            if match is _MISSING:
                return False, None
            data = match
        elif isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
        else:
            return False, None
    return True, data


_MISSING = object()


def _lookup_key(data: dict[Any, Any], part: str | int) -> Any:
    if part in data:
        return data[part]
    if isinstance(part, str):  # environment variables arrive lower-cased, files as written
        for key, value in data.items():
            if isinstance(key, str) and key.lower() == part.lower():
                return value
    return _MISSING


def yaml_line(path: Path, loc: tuple[str | int, ...]) -> int | None:
    """Return the 1-based line of ``loc`` in a YAML file, or None when it cannot be found."""
    try:
        node = yaml.compose(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None
    found: yaml.Node | None = node
    for part in loc:
        found = _child(found, part)
    return int(found.start_mark.line) + 1 if found is not None else None


def _child(node: yaml.Node | None, part: str | int) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if str(key_node.value).lower() == str(part).lower():
                child_node: yaml.Node = value_node
                return child_node
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
        child: yaml.Node = node.value[part]
        return child
    return None


def env_variable_name(loc: tuple[str | int, ...]) -> str:
    """Return the environment variable that sets ``loc`` (``TAUSESTACK_USERS__PAGE_SIZE``)."""
    return ENV_PREFIX + NESTED_DELIMITER.join(str(part).upper() for part in loc)


def iter_leaf_paths(data: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Yield the path of every leaf value in nested mappings."""
    if isinstance(data, dict) and data:
        for key, value in data.items():
            yield from iter_leaf_paths(value, (*prefix, str(key)))
    else:
        yield prefix
