"""A faster `__init__` for frozen, slotted, keyword-only dataclasses (the canonical model's
records and money): the same keyword arguments, defaults and factories, each slot filled
through its member descriptor instead of `object.__setattr__`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import MISSING, fields
from typing import Any

#: A default_factory's argument not given (the factory makes the value).
_FACTORY = object()


def quick_init(cls: type) -> Callable[..., None]:
    """The dataclass's `__init__` (the same keyword arguments, defaults and factories),
    setting each slot through its member descriptor: a frozen dataclass's own calls
    `object.__setattr__` per field, 1.4-2.2 µs an object here against 0.6-0.9 µs, and a
    check makes about 25 of these a return. Frozen still: assigning raises as before."""
    names: dict[str, Any] = {}
    params, body = [], []
    for f in fields(cls):
        if not f.init:
            raise TypeError(f"{cls.__name__}.{f.name}: a field outside __init__ is not "
                            "made by quick_init")
        names[f"_set_{f.name}"] = cls.__dict__[f.name].__set__
        if f.default is not MISSING:
            names[f"_d_{f.name}"] = f.default
            params.append(f"{f.name}=_d_{f.name}")
        elif f.default_factory is not MISSING:
            names[f"_f_{f.name}"] = f.default_factory
            params.append(f"{f.name}=_FACTORY")
            body.append(f"    if {f.name} is _FACTORY:\n        {f.name} = _f_{f.name}()")
        else:
            params.append(f.name)
        body.append(f"    _set_{f.name}(self, {f.name})")
    names["_FACTORY"] = _FACTORY
    source = (f"def __init__(self, *, {', '.join(params)}):\n" + "\n".join(body or ["    pass"])
              + "\n")
    made: dict[str, Any] = {}
    exec(source, names, made)  # our own fields' names: nothing read from outside
    init = made["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    return init
