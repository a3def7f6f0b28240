"""Text folding for Vietnamese search: "Yên Bình", "YEN BINH" and "yen binh" compare equal."""

from __future__ import annotations

import unicodedata


def fold(text: str | None) -> str:
    """Lower-case, without diacritics (đ → d), single-spaced."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFD", str(text).replace("đ", "d").replace("Đ", "D"))
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return " ".join(stripped.lower().split())
