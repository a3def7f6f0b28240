"""Search features by name across layers, ignoring Vietnamese diacritics and case ("yen binh" finds "Yên Bình")."""

from __future__ import annotations

from dataclasses import dataclass

from layers.dataset import Dataset
from layers.text import fold

NAME_FIELDS = ("name", "name_en", "full_name", "ref")


@dataclass(frozen=True)
class Hit:
    """One found feature: where it is and what it is called."""

    collection: str
    id: int
    name: str
    bbox: tuple[float, float, float, float]
    score: int


class NameIndex:
    """Folded names of every feature of a dataset, built once."""

    def __init__(self, dataset: Dataset) -> None:
        self._rows: list[tuple[str, str, int, str, tuple[float, float, float, float]]] = []
        for layer in dataset:
            fields = [f for f in NAME_FIELDS if f in layer.frame.columns]
            if not fields:
                continue
            bounds = layer.frame.geometry.bounds.to_numpy()
            columns = [layer.frame[f].to_numpy() for f in fields]
            for row, fid in enumerate(layer.fids):
                names = [str(col[row]) for col in columns if isinstance(col[row], str) and col[row].strip()]
                if not names or not all(bounds[row] == bounds[row]):  # no name, or empty geometry (NaN bounds)
                    continue
                box = tuple(float(v) for v in bounds[row])
                self._rows.append((fold(" | ".join(names)), layer.id, int(fid), names[0], box))

    def search(self, query: str, limit: int = 20, collections: set[str] | None = None) -> list[Hit]:
        """Features whose names contain every word of the query; names starting with it rank first."""
        folded = fold(query)
        words = folded.split()
        if not words:
            return []
        hits = []
        for text, cid, fid, name, box in self._rows:
            if collections is not None and cid not in collections:
                continue
            if all(w in text for w in words):
                score = 0 if text.startswith(folded) else (1 if f" {folded}" in text else 2)
                hits.append(Hit(cid, fid, name, box, score))
        hits.sort(key=lambda h: (h.score, len(h.name), h.name))
        return hits[:limit]
