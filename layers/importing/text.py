"""Decoding the text of the features and the field names to Unicode NFC, whatever encoding the file used.

Two cases (`ctx.raw_text`):
* the reader handed over bytes as Latin-1 stand-ins (Shapefile, non-UTF-8 CSV): decoded with the declared
  encoding, else the .cpg's (when it is not contradicted by the bytes), else the one detected (encodings.py) —
  and a file whose encoding cannot be told with confidence is refused rather than imported garbled;
* GDAL decoded the text itself: legacy Vietnamese (TCVN3, VNI) that it took for Windows-1252 is recognised by
  syllable scores and converted only when clearly better than the text as read.
"""

from __future__ import annotations

import unicodedata

import geopandas as gpd
import pandas as pd

from layers.importing import encodings as vn
from layers.importing.context import ImportContext
from layers.importing.errors import ImportRefused

_CHARSET_CODECS = {"windowsvietnamese": "cp1258", "utf-8": "utf-8", "utf8": "utf-8", "windowslatin1": "cp1252",
                   "neutral": None}


def decode_text(ctx: ImportContext, frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The frame with every text value and field name in Unicode; sets the report's encoding and its source."""
    geom_name = frame.geometry.name
    columns = [c for c in frame.columns if c != geom_name]
    text_cols = [c for c in columns if frame[c].dtype == object or pd.api.types.is_string_dtype(frame[c].dtype)]
    strings: set[str] = {str(c) for c in columns}
    for c in text_cols:
        strings.update(v for v in frame[c].to_numpy() if isinstance(v, str))
    declared = _declared_encoding(ctx)
    convert = _decode_raw(ctx, strings, declared) if ctx.raw_text else _decode_read(ctx, strings, declared)

    def fix(v):
        return unicodedata.normalize("NFC", convert.get(v, v)) if isinstance(v, str) else v

    for c in text_cols:
        frame[c] = [fix(v) for v in frame[c].to_numpy()]
    rename: dict = {}
    seen: set[str] = set()
    for c in columns:  # decoded names may coincide: keep them apart
        new = fix(str(c))
        while new in seen or new == geom_name:
            new += "_"
        seen.add(new)
        rename[c] = new
    return frame.rename(columns=rename)


def _declared_encoding(ctx: ImportContext) -> str | None:
    if not ctx.declared_encoding:
        return None
    declared = vn.normalize_name(ctx.declared_encoding)
    if declared is None:
        raise ImportRefused("bad_encoding", f"unknown text encoding {ctx.declared_encoding!r}; use utf-8, "
                            "cp1258, tcvn3 or vni", f"Bảng mã {ctx.declared_encoding!r} không được hỗ trợ; "
                            "dùng utf-8, cp1258, tcvn3 hoặc vni")
    return declared


def _decode_raw(ctx: ImportContext, strings: set[str], declared: str | None) -> dict[str, str]:
    """Strings standing for bytes (Latin-1): decode with the declared or .cpg encoding, else detect."""
    raw = {s: s.encode("latin1") for s in strings}
    enc, source = declared, "declared" if declared else None
    if enc is None and ctx.cpg:
        cpg = vn.normalize_name(ctx.cpg)
        if cpg is None:
            ctx.report.note("cpg_unknown", f"the .cpg file names an unknown encoding ({ctx.cpg}); detecting",
                            f"Tệp .cpg ghi bảng mã không rõ ({ctx.cpg}); đang tự nhận dạng", "warning")
        elif cpg == "utf-8" and not _all_utf8(raw.values()):
            ctx.report.note("cpg_wrong", "the .cpg file says UTF-8 but the text is not UTF-8; detecting",
                            "Tệp .cpg ghi UTF-8 nhưng văn bản không phải UTF-8; đang tự nhận dạng", "warning")
        else:
            enc, source = cpg, "cpg"
    if enc is None:
        det = vn.detect(raw.values())
        if det.ambiguous:
            raise _refuse_encoding(ctx, det)
        enc = det.encoding
        source = "utf-8" if enc == "utf-8" else f"detected_{enc}"
        if enc != "utf-8":
            _note_detected(ctx, det)
    ctx.report.encoding, ctx.report.encoding_source = enc, source
    out = {}
    bad = 0
    for s, b in raw.items():
        text = vn.decode(b, enc)
        bad += "\ufffd" in text
        if text != s:
            out[s] = text
    if bad:
        ctx.report.note("undecodable_text", f"{bad} text values have bytes that are not valid {enc} (shown as �)",
                        f"{bad} giá trị văn bản có byte không hợp lệ theo bảng mã {enc} (hiện là �)", "warning")
    return out


def _decode_read(ctx: ImportContext, strings: set[str], declared: str | None) -> dict[str, str]:
    """Strings already decoded by GDAL: legacy Vietnamese read as Windows-1252 is recognised and converted."""
    legacy = {s: vn.recover_bytes(s) for s in strings if vn.looks_legacy(s)}
    legacy = {s: b for s, b in legacy.items() if b is not None}
    charset = _CHARSET_CODECS.get(ctx.file_charset.lower()) if ctx.file_charset else None
    if declared and declared != "utf-8":
        ctx.report.encoding, ctx.report.encoding_source = declared, "declared"
        return {s: vn.decode(b, declared) for s, b in legacy.items()}
    if charset:
        ctx.report.encoding, ctx.report.encoding_source = charset, "file"
    else:
        ctx.report.encoding, ctx.report.encoding_source = "utf-8", "declared" if declared else "utf-8"
    if not legacy or declared:
        return {}
    as_is = vn.syllable_score(legacy)
    as_is_score = as_is[0] / as_is[1] if as_is[1] else 1.0
    det = vn.detect(legacy.values(), min_score=0.6, margin=0.15)
    det.scores["as-is"] = as_is_score
    if det.encoding and det.encoding != "utf-8" and det.scores[det.encoding] >= as_is_score + 0.15:
        enc = det.encoding
        ctx.report.encoding, ctx.report.encoding_source = enc, f"detected_{enc}"
        _note_detected(ctx, det)
        return {s: vn.decode(b, enc) for s, b in legacy.items()}
    if as_is[1] >= 3 and as_is_score < 0.5:
        ctx.report.note("encoding_unsure", "some text does not look like Vietnamese in Unicode and no legacy "
                        "encoding fits clearly; kept as read — declare the encoding if names look wrong",
                        "Một số văn bản không giống tiếng Việt Unicode và không khớp rõ bảng mã cũ nào; giữ "
                        "nguyên — hãy khai báo bảng mã nếu tên hiển thị sai", "warning", scores=det.scores)
    return {}


def _note_detected(ctx: ImportContext, det: vn.Detection) -> None:
    assert det.encoding is not None
    label = vn.LABELS[det.encoding]
    scores = ", ".join(f"{vn.LABELS.get(k, k)} {v:.0%}" for k, v in sorted(det.scores.items(), key=lambda kv: -kv[1]))
    ctx.report.note("encoding_detected", f"text was in {label} and was converted to Unicode ({scores})",
                    f"Văn bản dùng bảng mã {label}, đã chuyển sang Unicode ({scores})", "warning", scores=det.scores)


def _refuse_encoding(ctx: ImportContext, det: vn.Detection) -> ImportRefused:
    shown = "; ".join(f"{vn.LABELS[k]} {det.scores[k]:.0%}: " + " | ".join(det.samples.get(k, [])[:2])
                      for k in det.scores)
    return ImportRefused("ambiguous_encoding", f"the text encoding of {ctx.name} cannot be recognised with "
                         f"confidence ({shown}); declare it: utf-8, cp1258, tcvn3 or vni",
                         f"Không nhận dạng chắc chắn được bảng mã của {ctx.name} ({shown}); hãy khai báo bảng "
                         "mã: utf-8, cp1258, tcvn3 (ABC) hoặc vni", details={"scores": det.scores,
                                                                            "samples": det.samples})


def _all_utf8(values) -> bool:
    try:
        for v in values:
            v.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
