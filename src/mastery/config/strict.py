"""Turn plain YAML data into frozen dataclasses, refusing anything unexpected.

A misspelt key in a spec is a silent no-op in most pipelines; here it is an error that
names the key, where it was found, and the closest valid key.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from typing import Any, Literal, Union

from mastery.errors import MasteryError


class ConfigError(MasteryError, ValueError):
    """A configuration file holds a key or value that does not fit its schema."""


def parse(cls: type, data: Any, where: str, key: str = "") -> Any:
    """Build `cls` from `data`, found in file `where` at `key` (the top level by default).

    Errors read `<file>: <key path>: <problem>`, the path as written in that file.
    """
    return _coerce(cls, data, f"{where}: {key}" if key else f"{where}:")


def _coerce(tp: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    if tp is Any:
        return value
    if dataclasses.is_dataclass(tp):
        return _dataclass(tp, value, where)
    if origin in (Union, types.UnionType):
        return _union(tp, value, where)
    if origin is Literal:
        if value not in typing.get_args(tp):
            raise ConfigError(f"{where}: {value!r} is not one of {list(typing.get_args(tp))}")
        return value
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        (item,) = typing.get_args(tp)[:1]
        return tuple(_coerce(item, v, f"{where}[{i}]") for i, v in enumerate(value))
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {value!r}")
        _, item = typing.get_args(tp)
        return {str(k): _coerce(item, v, f"{where}.{k}") for k, v in value.items()}
    return _scalar(tp, value, where)


def _dataclass(cls: type, value: Any, where: str) -> Any:
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a mapping for {cls.__name__}, got {value!r}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in value:
        if key not in fields:
            hint = difflib.get_close_matches(str(key), fields, n=1)
            suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
            raise ConfigError(f"{where}: unknown key '{key}'{suggestion}; allowed: {sorted(fields)}")
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for name, field in fields.items():
        path = f"{where} {name}" if where.endswith(":") else f"{where}.{name}"
        if name in value:
            kwargs[name] = _coerce(hints[name], value[name], path)
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise ConfigError(f"{path}: required key is missing")
    return cls(**kwargs)


def _union(tp: Any, value: Any, where: str) -> Any:
    args = typing.get_args(tp)
    if value is None and type(None) in args:
        return None
    errors = []
    for arg in (a for a in args if a is not type(None)):
        try:
            return _coerce(arg, value, where)
        except ConfigError as error:
            errors.append(str(error))
    raise ConfigError(" / ".join(errors))


def _scalar(tp: type, value: Any, where: str) -> Any:
    if tp is float and isinstance(value, (int, float, str)) and not isinstance(value, bool):
        try:  # YAML 1.1 reads 1e-3 as a string
            return float(value)
        except ValueError:
            pass
    elif tp is int and isinstance(value, int) and not isinstance(value, bool) or tp in (str, bool) and isinstance(value, tp):
        return value
    raise ConfigError(f"{where}: expected {tp.__name__}, got {value!r}")
