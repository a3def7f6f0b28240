"""Reading PDFs as a reader would — page count and size, text, the rendered page — with pypdfium2 (PDFium, the
PDF engine of Chromium, from its PyPI wheel), so the suite needs no system PDF tools."""

from __future__ import annotations

import pypdfium2 as pdfium
from PIL import Image

A4_PT = (595.276, 841.89)


def pages(pdf: bytes) -> list[tuple[float, float]]:
    """Each page's (width, height) in points."""
    doc = pdfium.PdfDocument(pdf)
    try:
        return [tuple(doc[i].get_size()) for i in range(len(doc))]
    finally:
        doc.close()


def text(pdf: bytes) -> str:
    """All text of the document, whitespace collapsed."""
    doc = pdfium.PdfDocument(pdf)
    try:
        return " ".join(" ".join(doc[i].get_textpage().get_text_range() for i in range(len(doc))).split())
    finally:
        doc.close()


def render(pdf: bytes, dpi: float, page: int = 0) -> Image.Image:
    """One page drawn at `dpi`, as an RGB image."""
    doc = pdfium.PdfDocument(pdf)
    try:
        return doc[page].render(scale=dpi / 72).to_pil().convert("RGB")
    finally:
        doc.close()


def is_a4(size: tuple[float, float], tolerance: float = 1.0) -> bool:
    w, h = size
    return abs(w - A4_PT[0]) <= tolerance and abs(h - A4_PT[1]) <= tolerance
