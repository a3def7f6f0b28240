"""The registry of rule types: measure name → class.  Rules name their measure in data/rules.yaml."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from layers.measures.base import Measure, Role

MEASURES: dict[str, type[Measure]] = {}


def register(cls: type[Measure]) -> type[Measure]:
    """Class decorator: make a measure available to rules under its `name`."""
    if cls.name in MEASURES:
        raise ValueError(f"measure {cls.name!r} is registered twice")
    MEASURES[cls.name] = cls
    return cls


def measure_class(name: str) -> type[Measure]:
    try:
        return MEASURES[name]
    except KeyError:
        raise ValueError(f"unknown measure {name!r}; known measures: {', '.join(sorted(MEASURES))}") from None


def evidence_roles() -> dict[str, Role]:
    """Every evidence role any measure draws (plus the site itself), for legends on the map and in reports."""
    from layers.measures.base import SITE

    roles: dict[str, Role] = {"site": SITE}
    for cls in MEASURES.values():
        roles.update(cls.roles)
    return roles
