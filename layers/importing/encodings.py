"""Legacy Vietnamese text encodings: TCVN3 (ABC), VNI-Windows and Windows-1258, detected and converted to Unicode.

Old Shapefiles, DXF drawings and MapInfo tables from Vietnamese offices often hold names typed with the
".VnTime" (TCVN3 / ABC) or "VNI-Times" (VNI) fonts: the bytes are not Unicode, and read as Windows-1252 they
show as "Th¸i Nguyªn" (TCVN3) or "Thaùi Nguyeân" (VNI).  This module decodes those bytes, and guesses which
encoding a sample of byte strings is in by how many of the resulting words are valid Vietnamese syllables.

* TCVN3 (TCVN 5712:1993, the VN3 set): one byte per letter; lower-case letters with tones and Ă Â Ê Ô Ơ Ư Đ
  in 0xA1–0xFE.  Capitals with tones have no code: ".VnTimeH" fonts draw the lower-case codes as capitals, so
  an all-capital word such as "TH¸I" is decoded to "THÁI".
* VNI-Windows: a base letter followed by one diacritic byte (tone, or vowel mark plus tone); ơ ư đ and the
  i/ỵ letters are single bytes.  Capitals take the capital diacritic bytes (byte − 0x20).
* Windows-1258: base letters (with ă â ê ô ơ ư đ precomposed) followed by combining tone marks.

Everything returned is Unicode NFC.  The import's text stage (text.py) applies this to a file's values.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

# ----------------------------------------------------------------------------------------------- TCVN3 (ABC)
_TCVN3_LETTERS = {
    # capitals without tone
    0xA1: "Ă", 0xA2: "Â", 0xA3: "Ê", 0xA4: "Ô", 0xA5: "Ơ", 0xA6: "Ư", 0xA7: "Đ",
    # lower case without tone
    0xA8: "ă", 0xA9: "â", 0xAA: "ê", 0xAB: "ô", 0xAC: "ơ", 0xAD: "ư", 0xAE: "đ",
    # combining tone marks (grave, hook, tilde, acute, dot below)
    0xB0: "\u0300", 0xB1: "\u0309", 0xB2: "\u0303", 0xB3: "\u0301", 0xB4: "\u0323",
    # a: grave hook tilde acute dot
    0xB5: "à", 0xB6: "ả", 0xB7: "ã", 0xB8: "á", 0xB9: "ạ",
    # ă
    0xBB: "ằ", 0xBC: "ẳ", 0xBD: "ẵ", 0xBE: "ắ", 0xC6: "ặ",
    # â
    0xC7: "ầ", 0xC8: "ẩ", 0xC9: "ẫ", 0xCA: "ấ", 0xCB: "ậ",
    # e
    0xCC: "è", 0xCE: "ẻ", 0xCF: "ẽ", 0xD0: "é", 0xD1: "ẹ",
    # ê
    0xD2: "ề", 0xD3: "ể", 0xD4: "ễ", 0xD5: "ế", 0xD6: "ệ",
    # i
    0xD7: "ì", 0xD8: "ỉ", 0xDC: "ĩ", 0xDD: "í", 0xDE: "ị",
    # o
    0xDF: "ò", 0xE1: "ỏ", 0xE2: "õ", 0xE3: "ó", 0xE4: "ọ",
    # ô
    0xE5: "ồ", 0xE6: "ổ", 0xE7: "ỗ", 0xE8: "ố", 0xE9: "ộ",
    # ơ
    0xEA: "ờ", 0xEB: "ở", 0xEC: "ỡ", 0xED: "ớ", 0xEE: "ợ",
    # u
    0xEF: "ù", 0xF1: "ủ", 0xF2: "ũ", 0xF3: "ú", 0xF4: "ụ",
    # ư
    0xF5: "ừ", 0xF6: "ử", 0xF7: "ữ", 0xF8: "ứ", 0xF9: "ự",
    # y
    0xFA: "ỳ", 0xFB: "ỷ", 0xFC: "ỹ", 0xFD: "ý", 0xFE: "ỵ",
}
_TCVN3_DECODE = [chr(b) if b < 0x80 else bytes([b]).decode("cp1252", errors="replace") for b in range(256)]
for _b, _ch in _TCVN3_LETTERS.items():
    _TCVN3_DECODE[_b] = _ch
_TCVN3_DECODE = [("\N{REPLACEMENT CHARACTER}" if c == "\ufffd" else c) for c in _TCVN3_DECODE]
_TCVN3_ENCODE = {ch: bytes([b]) for b, ch in _TCVN3_LETTERS.items() if len(ch) == 1 and not 0xB0 <= b <= 0xB4}

# ----------------------------------------------------------------------------------------------- VNI-Windows
_ACUTE, _GRAVE, _HOOK, _TILDE, _DOT = "\u0301", "\u0300", "\u0309", "\u0303", "\u0323"
_CIRC, _BREVE, _HORN = "\u0302", "\u0306", "\u031b"
_VNI_MARKS = {  # lower-case diacritic byte → combining marks (the capital byte is 0x20 lower)
    0xF9: _ACUTE, 0xF8: _GRAVE, 0xFB: _HOOK, 0xF5: _TILDE, 0xEF: _DOT,
    0xE2: _CIRC, 0xE1: _CIRC + _ACUTE, 0xE0: _CIRC + _GRAVE, 0xE5: _CIRC + _HOOK, 0xE3: _CIRC + _TILDE,
    0xE4: _CIRC + _DOT,
    0xEA: _BREVE, 0xE9: _BREVE + _ACUTE, 0xE8: _BREVE + _GRAVE, 0xFA: _BREVE + _HOOK, 0xFC: _BREVE + _TILDE,
    0xEB: _BREVE + _DOT,
}
_TONE_MARKS = (_ACUTE, _GRAVE, _HOOK, _TILDE, _DOT)
_VNI_SINGLE = {  # bytes that are a whole letter
    0xF4: "ơ", 0xD4: "Ơ", 0xF6: "ư", 0xD6: "Ư", 0xF1: "đ", 0xD1: "Đ",
    0xED: "í", 0xCD: "Í", 0xEC: "ì", 0xCC: "Ì", 0xE6: "ỉ", 0xC6: "Ỉ", 0xF3: "ĩ", 0xD3: "Ĩ", 0xF2: "ị", 0xD2: "Ị",
    0xEE: "ỵ", 0xCE: "Ỵ",
}


def _vni_marks(byte: int) -> tuple[str, bool] | None:
    """The combining marks of a VNI diacritic byte and whether it is the capital form."""
    if byte in _VNI_MARKS:
        return _VNI_MARKS[byte], False
    if byte + 0x20 in _VNI_MARKS:
        return _VNI_MARKS[byte + 0x20], True
    return None


def _vni_accepts(base: str, marks: str) -> bool:
    """Whether a base letter takes these marks: tones on any vowel, circumflex on a/e/o, breve on a only."""
    low = base.lower()
    if marks in _TONE_MARKS:
        return low in "aeouyơư"
    if marks.startswith(_CIRC):
        return low in "aeo"
    return low == "a"


def _fallback(b: int) -> str:
    text = bytes([b]).decode("cp1252", errors="replace")
    return "\N{REPLACEMENT CHARACTER}" if text == "\ufffd" else text


def decode_vni(data: bytes) -> str:
    out: list[str] = []
    i, n = 0, len(data)
    while i < n:
        b = data[i]
        if b in _VNI_SINGLE:
            base = _VNI_SINGLE[b]
        elif b < 0x80:
            base = chr(b)
        else:
            out.append(_fallback(b))
            i += 1
            continue
        if i + 1 < n and base.isalpha():
            marks = _vni_marks(data[i + 1])
            if marks is not None and _vni_accepts(base, marks[0]):
                out.append(unicodedata.normalize("NFC", base + marks[0]))
                i += 2
                continue
        out.append(base)
        i += 1
    return unicodedata.normalize("NFC", "".join(out))


def _build_vni_encode() -> dict[str, bytes]:
    table: dict[str, bytes] = {}
    for base in "aeouyAEOUY":
        for low_byte, marks in _VNI_MARKS.items():
            if not _vni_accepts(base, marks):
                continue
            byte = low_byte if base.islower() else low_byte - 0x20
            table[unicodedata.normalize("NFC", base + marks)] = base.encode("ascii") + bytes([byte])
    for byte, letter in _VNI_SINGLE.items():
        table[letter] = bytes([byte])
    for letter, byte in (("ơ", 0xF4), ("Ơ", 0xD4), ("ư", 0xF6), ("Ư", 0xD6)):
        for low_byte in (0xF9, 0xF8, 0xFB, 0xF5, 0xEF):
            mark = low_byte if letter.islower() else low_byte - 0x20
            table[unicodedata.normalize("NFC", letter + _VNI_MARKS[low_byte])] = bytes([byte, mark])
    return table


_VNI_ENCODE = _build_vni_encode()


def encode_vni(text: str) -> bytes:
    out = bytearray()
    for ch in unicodedata.normalize("NFC", text):
        if ch in _VNI_ENCODE:
            out += _VNI_ENCODE[ch]
        else:
            out += ch.encode("cp1252")
    return bytes(out)


# ----------------------------------------------------------------------------------------------- TCVN3 codec
def decode_tcvn3(data: bytes) -> str:
    text = unicodedata.normalize("NFC", "".join(_TCVN3_DECODE[b] for b in data))
    letters = [c for c in text if c.isascii() and c.isalpha()]
    if len(letters) >= 2 and all(c.isupper() for c in letters):  # a whole string typed in capitals
        return text.upper()
    return _WORD.sub(lambda m: m.group(0).upper() if _is_caps_word(m.group(0)) else m.group(0), text)


_WORD = re.compile(r"[^\W\d_]+")


def _is_caps_word(word: str) -> bool:
    """A word typed in capitals with a ".VnTimeH" font: ≥ 2 capital ASCII letters, none lower case."""
    ascii_letters = [c for c in word if c.isascii() and c.isalpha()]
    return len(ascii_letters) >= 2 and all(c.isupper() for c in ascii_letters)


def encode_tcvn3(text: str) -> bytes:
    """Unicode → TCVN3; capitals with tones (absent from TCVN3) are written with the lower-case code."""
    out = bytearray()
    for ch in unicodedata.normalize("NFC", text):
        if ch in _TCVN3_ENCODE:
            out += _TCVN3_ENCODE[ch]
        elif ch.lower() in _TCVN3_ENCODE and ch.lower() != ch:
            out += _TCVN3_ENCODE[ch.lower()]
        else:
            out += ch.encode("ascii")
    return bytes(out)


# ----------------------------------------------------------------------------------------------- Windows-1258
def decode_cp1258(data: bytes) -> str:
    return unicodedata.normalize("NFC", data.decode("cp1258", errors="replace"))


def encode_cp1258(text: str) -> bytes:
    """Unicode → Windows-1258 the way Windows writes it: ă â ê ô ơ ư đ precomposed, tones as combining marks."""
    out = bytearray()
    for ch in unicodedata.normalize("NFC", text):
        try:
            out += ch.encode("cp1258")
            continue
        except UnicodeEncodeError:
            pass
        parts = unicodedata.normalize("NFD", ch)
        tones = [c for c in parts if c in _TONE_MARKS]
        rest = unicodedata.normalize("NFC", "".join(c for c in parts if c not in _TONE_MARKS))
        out += rest.encode("cp1258") + "".join(tones).encode("cp1258")
    return bytes(out)


# ----------------------------------------------------------------------------------------------- names
CODECS = ("utf-8", "cp1258", "tcvn3", "vni")
_ALIASES = {
    "utf8": "utf-8", "utf-8": "utf-8", "65001": "utf-8", "unicode": "utf-8",
    "cp1258": "cp1258", "1258": "cp1258", "windows-1258": "cp1258", "windows1258": "cp1258",
    "ansi 1258": "cp1258", "ansi1258": "cp1258", "windowsvietnamese": "cp1258", "ldid/163": "cp1258",
    "tcvn3": "tcvn3", "tcvn": "tcvn3", "abc": "tcvn3", "vn3": "tcvn3", "tcvn5712": "tcvn3", "tcvn 5712": "tcvn3",
    "vni": "vni", "vni-windows": "vni", "vniwindows": "vni", "vni windows": "vni",
}


def normalize_name(name: str) -> str | None:
    """Our codec name for a declared or .cpg encoding name; other Python codecs pass through; None if unknown."""
    key = " ".join(str(name).strip().lower().replace("_", "-").split())
    if key in _ALIASES:
        return _ALIASES[key]
    if key.startswith("ansi "):
        key = "cp" + key[5:]
    elif key.isdigit():
        key = "cp" + key
    try:
        import codecs

        return codecs.lookup(key).name
    except LookupError:
        return None


def decode(data: bytes, encoding: str) -> str:
    """Bytes in one of our codec names (or any Python codec) → Unicode NFC."""
    if encoding == "tcvn3":
        return decode_tcvn3(data)
    if encoding == "vni":
        return decode_vni(data)
    if encoding == "cp1258":
        return decode_cp1258(data)
    return unicodedata.normalize("NFC", data.decode(encoding, errors="replace"))


def encode(text: str, encoding: str) -> bytes:
    if encoding == "tcvn3":
        return encode_tcvn3(text)
    if encoding == "vni":
        return encode_vni(text)
    if encoding == "cp1258":
        return encode_cp1258(text)
    return unicodedata.normalize("NFC", text).encode(encoding)


LABELS = {"utf-8": "UTF-8", "cp1258": "Windows-1258", "tcvn3": "TCVN3 (ABC)", "vni": "VNI-Windows",
          "latin1": "ISO-8859-1", "as-is": "as read"}


# ----------------------------------------------------------------------------------------------- syllables
_ONSETS = sorted("b c ch d đ g gh gi h k kh l m n ng ngh nh p ph qu r s t th tr v x".split(), key=len, reverse=True)
_NUCLEI = set(
    "a ă â e ê i o ô ơ u ư y ai ao au ay âu ây eo êu ia iê iu oa oă oe oi ôi ơi oo ua uâ uê ui uô uơ uy ưa ưi ươ "
    "ưu yê iêu yêu oai oao oay oeo uây uôi uya uyê ươi ươu uyu uê".split())
_CODAS = ("ng", "nh", "ch", "c", "m", "n", "p", "t")
_SPLIT = re.compile(r"[\s.,;:()\[\]{}/\\\-–—\"'!?&+*=<>|#%@0-9_]+")


def is_syllable(word: str) -> bool:
    """Whether a word is a well-formed Vietnamese syllable (onset, vowel nucleus, coda; at most one tone)."""
    parts = unicodedata.normalize("NFD", word.lower())
    if sum(c in _TONE_MARKS for c in parts) > 1:
        return False
    bare = unicodedata.normalize("NFC", "".join(c for c in parts if c not in _TONE_MARKS))
    for onset in (*_ONSETS, ""):
        if not bare.startswith(onset):
            continue
        rest = bare[len(onset):]
        for coda in (*_CODAS, ""):
            if rest.endswith(coda) and rest[: len(rest) - len(coda)] in _NUCLEI:
                return True
    return False


def syllable_score(texts: Iterable[str]) -> tuple[int, int]:
    """(valid, judged): among words with a non-ASCII character, how many are Vietnamese syllables."""
    valid = judged = 0
    for text in texts:
        for word in _SPLIT.split(text):
            if not word or word.isascii():
                continue
            judged += 1
            valid += is_syllable(word)
    return valid, judged


# ----------------------------------------------------------------------------------------------- detection
@dataclass
class Detection:
    """The outcome of guessing an encoding: the codec chosen (None if ambiguous) and every candidate's score."""

    encoding: str | None
    scores: dict[str, float] = field(default_factory=dict)
    samples: dict[str, list[str]] = field(default_factory=dict)
    judged: int = 0

    @property
    def ambiguous(self) -> bool:
        return self.encoding is None


def detect(samples: Iterable[bytes], candidates: tuple[str, ...] = ("cp1258", "tcvn3", "vni"),
           min_score: float = 0.6, margin: float = 0.15) -> Detection:
    """Guess the encoding of byte strings: UTF-8 if they all decode as such, else the legacy candidate whose
    decoding yields the largest share of valid Vietnamese syllables — when clearly ahead of the others."""
    data = [s for s in samples if s]
    high = [s for s in data if not s.isascii()]
    if not high:
        return Detection("utf-8", {"utf-8": 1.0})
    try:
        for s in high:
            s.decode("utf-8")
        return Detection("utf-8", {"utf-8": 1.0})
    except UnicodeDecodeError:
        pass
    scores: dict[str, float] = {}
    shown: dict[str, list[str]] = {}
    judged_max = 0
    for name in candidates:
        texts = [decode(s, name) for s in high]
        valid, judged = syllable_score(texts)
        judged_max = max(judged_max, judged)
        scores[name] = valid / judged if judged else 0.0
        shown[name] = texts[:3]
    ranked = sorted(scores, key=scores.get, reverse=True)
    best = ranked[0]
    second = scores[ranked[1]] if len(ranked) > 1 else 0.0
    chosen = best if scores[best] >= min_score and scores[best] - second >= margin else None
    return Detection(chosen, scores, shown, judged_max)


def looks_legacy(text: str) -> bool:
    """A string read as Latin-1/Windows-1252 that may hide legacy Vietnamese bytes (all chars ≤ U+00FF or
    Windows-1252 specials, some above U+007F)."""
    if text.isascii():
        return False
    try:
        text.encode("cp1252")
        return True
    except UnicodeEncodeError:
        try:
            text.encode("latin1")
            return True
        except UnicodeEncodeError:
            return False


def recover_bytes(text: str) -> bytes | None:
    """The bytes a legacy string was before being read as Windows-1252 (or Latin-1); None if it was not."""
    for codec in ("cp1252", "latin1"):
        try:
            return text.encode(codec)
        except UnicodeEncodeError:
            continue
    return None


__all__ = ["CODECS", "Detection", "LABELS", "decode", "decode_cp1258", "decode_tcvn3", "decode_vni", "detect",
           "encode", "encode_cp1258", "encode_tcvn3", "encode_vni", "is_syllable", "looks_legacy",
           "normalize_name", "recover_bytes", "syllable_score"]
