"""Config values in and out: the checks every config dataclass makes, and plain data <-> dataclasses.

- ``ConfigError`` and ``require``: what a config's ``__post_init__`` raises, naming the field and the fix;
  ``is_integer``: an int (or numpy integer), not a bool.
- ``to_dict`` / ``build``: a dataclass tree as nested dicts and lists (JSON-ready), and back, with typed
  coercion of each value (an integral float for an int, a JSON list for a tuple) and errors naming the
  dotted field; a union of dataclasses is chosen by the ``name`` field.
- ``flatten``: flat dotted keys (``selection.memory_size``), as MLflow params.
- ``parse_assignment``: ``"key=value"`` as typed on a command line (the value read as JSON where it parses).

Nothing here knows which configs exist: ``ips.config`` builds ``IPSConfig`` with it.
"""

from __future__ import annotations

import json
import numbers
import types
from dataclasses import fields, is_dataclass
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints


class ConfigError(ValueError):
    """An invalid configuration value: the message names the field and how to fix it."""


def require(condition: bool, field_name: str, message: str) -> None:
    """Raise ``ConfigError("{field_name}: {message}")`` unless ``condition``."""
    if not condition:
        raise ConfigError(f"{field_name}: {message}")


def is_integer(value: object) -> bool:
    """An int or a numpy integer, not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


# ------------------------------------------------------------------------------ dict <-> dataclasses


def to_dict(config: Any) -> Any:
    """A dataclass tree as plain nested dicts/lists (JSON-ready)."""
    if is_dataclass(config):
        return {f.name: to_dict(getattr(config, f.name)) for f in fields(config)}
    if isinstance(config, (list, tuple)):
        return [to_dict(item) for item in config]
    return config


def flatten(config: Any, prefix: str = "") -> dict[str, Any]:
    """Flat dotted keys, e.g. ``{"selection.memory_size": 100, "tasks.0.name": "majority"}``."""
    tree = to_dict(config) if is_dataclass(config) else config
    flat: dict[str, Any] = {}
    if isinstance(tree, dict):
        for key, value in tree.items():
            flat.update(flatten(value, f"{prefix}{key}."))
    elif isinstance(tree, list):
        for i, value in enumerate(tree):
            flat.update(flatten(value, f"{prefix}{i}."))
    else:
        flat[prefix[:-1]] = tree
    return flat


def build(cls: type, value: Any, path: str) -> Any:
    """Dataclass ``cls`` from a dict at dotted ``path``, with errors naming unknown or mistyped fields."""
    if isinstance(value, cls):
        return value
    if not isinstance(value, dict):
        raise ConfigError(f"{path or 'config'}: expected a mapping of fields, got {value!r}")
    hints = get_type_hints(cls)
    known = {f.name for f in fields(cls) if f.init}
    unknown = sorted(set(value) - known)
    if unknown:
        raise ConfigError(
            f"{path + '.' if path else ''}{unknown[0]}: unknown field; valid fields are {sorted(known)}"
        )
    kwargs = {
        name: convert(hints[name], item, f"{path}.{name}" if path else name) for name, item in value.items()
    }
    return cls(**kwargs)


def convert(hint: Any, value: Any, path: str) -> Any:
    """``value`` as the type ``hint`` says: a dataclass, a tuple of them, one of a union of dataclasses
    (the one whose ``name`` is ``value["name"]``; the first when it gives none) or a scalar."""
    origin = get_origin(hint)
    choices = get_args(hint) if origin in (Union, types.UnionType) else ()
    if choices and all(is_dataclass(choice) for choice in choices):
        if is_dataclass(value):
            return value
        by_name = {choice.name: choice for choice in choices}  # each one's `name` field default
        name = value.get("name", choices[0].name) if isinstance(value, dict) else None
        if name not in by_name:
            raise ConfigError(f"{path}.name: got {name!r}; use one of {sorted(by_name)}")
        return build(by_name[name], value, path)
    if origin is tuple:
        (item_hint, *_) = get_args(hint)
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{path}: expected a list, got {value!r}")
        return tuple(convert(item_hint, item, f"{path}[{i}]") for i, item in enumerate(value))
    if isinstance(hint, type) and is_dataclass(hint):
        return build(hint, value, path)
    return _check_scalar(hint, value, path)


def _check_scalar(hint: Any, value: Any, path: str) -> Any:
    allowed = get_args(hint) if get_origin(hint) in (Union, types.UnionType) else (hint,)
    if value is None:
        if type(None) in allowed:
            return None
        raise ConfigError(f"{path}: must not be None")
    for kind in allowed:
        if get_origin(kind) is Literal:
            if value in get_args(kind):
                return value
            continue
        if kind is float and isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if kind is int and isinstance(value, int) and not isinstance(value, bool):
            return value
        if kind is int and isinstance(value, float) and value.is_integer():
            return int(value)
        if kind in (bool, str) and isinstance(value, kind):
            return value
    literals = [a for k in allowed if get_origin(k) is Literal for a in get_args(k)]
    if literals:
        raise ConfigError(f"{path}: got {value!r}; use one of {literals}")
    names = [getattr(k, "__name__", str(k)) for k in allowed]
    raise ConfigError(f"{path}: got {value!r} ({type(value).__name__}); expected {' or '.join(names)}")


# ----------------------------------------------------------------------------- command-line assignments


def parse_value(text: str) -> Any:
    """JSON where it parses (numbers, true/false/null, lists), else the string itself."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def parse_assignment(text: str) -> tuple[str, Any]:
    """``"selection.memory_size=50"`` -> ``("selection.memory_size", 50)``: one dotted override as typed
    on a command line (the value read by ``parse_value``); raises ``ConfigError`` without an ``=``."""
    key, separator, value = text.partition("=")
    if not separator or not key.strip():
        raise ConfigError(f"{text!r}: expected KEY=VALUE, e.g. selection.memory_size=50")
    return key.strip(), parse_value(value)
