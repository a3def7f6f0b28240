"""Data honesty: how exact a feature is, in one ordered vocabulary that every layer, check and export uses."""

from __future__ import annotations

from collections.abc import Iterable

# From best to weakest: a feature is as good as its accuracy says, and a result as good as its weakest evidence.
ACCURACY: tuple[str, ...] = ("exact", "approximate", "schematic", "synthetic")
ACCURACY_RANK = {a: i for i, a in enumerate(ACCURACY)}
DEFAULT_ACCURACY = "approximate"  # what a feature is called when nobody said: never "exact" by default
ACCURACY_LABELS = {
    "exact": {"vi": "chính xác", "en": "exact"},
    "approximate": {"vi": "gần đúng", "en": "approximate"},
    "schematic": {"vi": "sơ đồ", "en": "schematic"},
    "synthetic": {"vi": "minh họa (giả lập)", "en": "synthetic (illustrative)"},
}


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


def evidence_text(result: dict, lang: str) -> str | None:
    """One line saying what a check result rests on: the weakest accuracy, the deciding features and sources."""
    accuracy = result.get("evidence_accuracy")
    if not accuracy:
        return None
    vi = lang == "vi"
    label = ACCURACY_LABELS.get(accuracy, {}).get(lang, accuracy)
    searched = result.get("evidence_searched")
    if searched:
        where = (f"cả lớp {searched['layer']} ({searched['features']} đối tượng)" if vi
                 else f"the whole {searched['layer']} layer ({searched['features']} features)")
        sources = searched.get("sources") or []
    else:
        features = result.get("evidence_features") or []
        where = ", ".join(f"{f['layer']} #{f['id']}" for f in features[:3]) + ("…" if len(features) > 3 else "")
        sources = sorted({f["source"] for f in features if f.get("source")})
    text = (f"Dữ liệu quyết định: {label} — {where}" if vi else f"Decided by {label} data — {where}")
    if sources:
        text += ("; nguồn: " if vi else "; source: ") + "; ".join(sources[:2])
    return text
