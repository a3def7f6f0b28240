"""Data honesty: how exact a feature is, in one ordered vocabulary that every layer, check and export uses."""

from __future__ import annotations

from collections.abc import Iterable

# From best to weakest: a feature is as good as its accuracy says, and a result as good as its weakest evidence.
ACCURACY: tuple[str, ...] = ("exact", "approximate", "schematic", "synthetic")
ACCURACY_RANK = {a: i for i, a in enumerate(ACCURACY)}
DEFAULT_ACCURACY = "approximate"  # what a feature is called when nobody said: never "exact" by default


def is_accuracy(value: object) -> bool:
    return isinstance(value, str) and value in ACCURACY_RANK


def weakest(values: Iterable[object]) -> str | None:
    """The weakest accuracy among `values` (unknown values count as the weakest); None when there are none."""
    worst = None
    for v in values:
        rank = ACCURACY_RANK.get(v, len(ACCURACY) - 1) if v is not None else len(ACCURACY) - 1
        if worst is None or rank > worst:
            worst = rank
    return None if worst is None else ACCURACY[worst]
