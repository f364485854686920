"""A task's parameters split into injected ones and arguments, and arguments as JSON.

Arguments travel as JSON on every backend (the in-process one too, so a task behaves the same
everywhere and never shares a mutable object with the code that enqueued it). A parameter's
annotation turns the JSON back into its type when the job runs (``datetime``, a pydantic
model, a ``UUID``), as FastAPI does with a request body.
"""

from __future__ import annotations

import decimal
import inspect
import typing
from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import BaseModel, TypeAdapter, ValidationError

from ...di._container import Container
from ...di._graph import Node
from ...di._keys import DependencyKey, InjectTarget, split_annotation
from ...di._markers import component_spec
from ._task import Task
from .errors import TaskArgumentError, TaskDefinitionError

__all__ = ["TaskPlan", "encode_arguments", "encode_result"]


def _json_default(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, set | frozenset):
        return list(value)
    raise TypeError(f"Type is not JSON serializable: {type(value).__name__}")


def to_json(value: Any) -> Any:
    """``value`` as plain JSON data (dicts, lists, strings, numbers); TypeError otherwise."""
    return orjson.loads(orjson.dumps(value, default=_json_default))


def encode_arguments(
    task_name: str, args: tuple[Any, ...], kwargs: dict[str, Any], names: list[str]
) -> tuple[list[Any], dict[str, Any]]:
    """The arguments as JSON data; TaskArgumentError names the first one that is not JSON.

    ``names`` are the task's argument parameters, used to name positional arguments.
    """
    encoded_args = []
    for index, value in enumerate(args):
        where = f"argument {names[index]!r}" if index < len(names) else f"argument #{index + 1}"
        encoded_args.append(_encode(task_name, where, value))
    encoded_kwargs = {
        name: _encode(task_name, f"argument {name!r}", value) for name, value in kwargs.items()
    }
    return encoded_args, encoded_kwargs


def _encode(task_name: str, where: str, value: Any) -> Any:
    try:
        return to_json(value)
    except (TypeError, orjson.JSONEncodeError) as exc:
        raise TaskArgumentError(
            f"Cannot enqueue task {task_name!r}: {where} is a {type(value).__name__}, which "
            f"is not JSON-serializable ({exc}); nothing was enqueued. Pass plain data (numbers, "
            "strings, lists, dicts, dates, UUIDs, pydantic models), e.g. an id instead of an "
            "object loaded from the database."
        ) from None


def encode_result(value: Any) -> bytes:
    """What a task returned, as JSON bytes (TypeError when it is not JSON)."""
    return orjson.dumps(value, default=_json_default)


@dataclass(frozen=True, slots=True)
class InjectedParameter:
    """A parameter the container fills when the job runs."""

    name: str
    node: Node


class TaskPlan:
    """How one task is called in one application: what is injected, what is an argument.

    Built once per application, when its ``Tasks`` is created, so a task that needs
    something nobody provides fails at startup, not when its first job runs.
    """

    def __init__(self, task: Task[..., Any], container: Container) -> None:
        self.task = task
        self.injected: list[InjectedParameter] = []
        self.adapters: dict[str, TypeAdapter[Any]] = {}
        label = f"task {task.name!r}"
        try:
            hints = typing.get_type_hints(task.function, include_extras=True)
        except Exception as exc:
            raise TaskDefinitionError(
                f"Cannot read the type hints of {label}: {exc}. Import the names its "
                "parameters use at module level (not under `if TYPE_CHECKING:`)."
            ) from None
        arguments = []
        for parameter in inspect.signature(task.function).parameters.values():
            annotation = hints.get(parameter.name, inspect.Parameter.empty)
            node = self._injected_node(label, parameter, annotation, container)
            if node is not None:
                self.injected.append(InjectedParameter(parameter.name, node))
                continue
            arguments.append(parameter)
            variadic = parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD)
            if annotation is not inspect.Parameter.empty and annotation is not Any and not variadic:
                self.adapters[parameter.name] = TypeAdapter(annotation)
        self.parameters = list(inspect.signature(task.function).parameters.values())
        self.signature = inspect.Signature(arguments)
        self.argument_names = [
            parameter.name
            for parameter in arguments
            if parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD)
        ]
        if task.schedule is not None:
            why = f"it runs on the schedule {task.schedule.expression!r}"
            self.check_bindable(label, (), {}, why=why)

    @staticmethod
    def _injected_node(
        label: str, parameter: inspect.Parameter, annotation: Any, container: Container
    ) -> Node | None:
        if annotation is inspect.Parameter.empty or parameter.kind in (
            parameter.VAR_POSITIONAL,
            parameter.VAR_KEYWORD,
        ):
            return None
        base, qualifier, metadata = split_annotation(annotation)
        explicit = any(
            isinstance(getattr(item, "dependency", None), InjectTarget) for item in metadata
        )
        key = DependencyKey(base, qualifier)
        node = container.graph.lookup(key)
        if node is None and (explicit or component_spec(base) is not None):
            raise TaskDefinitionError(
                f"Parameter {parameter.name!r} of {label} asks for {key}, which nothing in the "
                "application provides. Mark it with @Service/@Repository/@provider in an "
                "installed app, or pass create_app(components=[...])."
            )
        if node is not None and parameter.kind is parameter.POSITIONAL_ONLY:
            raise TaskDefinitionError(
                f"Parameter {parameter.name!r} of {label} is injected, so it cannot be "
                "positional-only; remove the `/` before it."
            )
        return node

    def check_bindable(
        self, label: str, args: tuple[Any, ...], kwargs: dict[str, Any], *, why: str
    ) -> None:
        """Raise TaskDefinitionError when the task cannot be called with these arguments."""
        try:
            self.signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise TaskDefinitionError(
                f"{label} cannot be called without arguments ({exc}), but {why}. Give its "
                "parameters defaults, or type them with components to inject."
            ) from None

    def refuse_injected(self, kwargs: dict[str, Any]) -> None:
        """Raise TaskArgumentError when ``kwargs`` give a parameter that is injected."""
        for parameter in self.injected:
            if parameter.name in kwargs:
                raise TaskArgumentError(
                    f"Cannot enqueue task {self.task.name!r}: parameter {parameter.name!r} is "
                    "injected when the job runs; do not pass it. Nothing was enqueued."
                )

    def check_arguments(self, args: list[Any], kwargs: dict[str, Any]) -> None:
        """Check JSON arguments against the task before enqueueing (TaskArgumentError)."""
        self.arguments(args, kwargs, when="enqueue")

    def arguments(
        self, args: list[Any], kwargs: dict[str, Any], *, when: str = "run"
    ) -> inspect.BoundArguments:
        """Bind JSON arguments and convert each to its parameter's type."""
        try:
            bound = self.signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise TaskArgumentError(
                f"Cannot {when} task {self.task.name!r} with these arguments: {exc}."
            ) from None
        for name, value in bound.arguments.items():
            adapter = self.adapters.get(name)
            if adapter is None:
                continue
            try:
                bound.arguments[name] = adapter.validate_python(value)
            except ValidationError as exc:
                raise TaskArgumentError(
                    f"Cannot {when} task {self.task.name!r}: argument {name!r} does not fit "
                    f"its annotation: {exc}"
                ) from None
            except Exception as exc:  # pydantic wraps only ValueError and AssertionError
                raise TaskArgumentError(
                    f"Cannot {when} task {self.task.name!r}: converting argument {name!r} "
                    f"raised {type(exc).__name__}: {exc} (a validator should raise ValueError "
                    "for a value it refuses)."
                ) from exc
        return bound

    def call_arguments(
        self, bound: inspect.BoundArguments, injected: dict[str, Any]
    ) -> tuple[list[Any], dict[str, Any]]:
        """The positional and keyword arguments to call the function with: the job's
        arguments and the injected values, each where the function's signature wants it."""
        bound.apply_defaults()
        values = {**bound.arguments, **injected}
        positional = any(
            parameter.kind is parameter.VAR_POSITIONAL for parameter in self.parameters
        )
        args: list[Any] = []
        kwargs: dict[str, Any] = {}
        for parameter in self.parameters:
            kind = parameter.kind
            if kind is parameter.VAR_POSITIONAL:
                args.extend(values.get(parameter.name, ()))
            elif kind is parameter.VAR_KEYWORD:
                kwargs.update(values.get(parameter.name, {}))
            elif kind is parameter.POSITIONAL_ONLY or (
                positional and kind is parameter.POSITIONAL_OR_KEYWORD
            ):
                args.append(values[parameter.name])
            else:
                kwargs[parameter.name] = values[parameter.name]
        return args, kwargs
