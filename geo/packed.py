"""Many byte strings (encoded features, WKB) laid end to end in one buffer, so that a response is a few slices.

A buffer can be a memory-mapped file: then every process that maps it shares the same pages (the kernel's page
cache), nothing is decoded at start-up, and no Python object per item exists until one is asked for.  Each item
is stored followed by a separator byte (`,` for GeoJSON features), so that a run of consecutive items is already a
valid comma-joined list: `limit=10000` of an unfiltered layer is one slice of the buffer.

`RowBytes` maps the rows of a table onto items of one or more buffers: after an edit, the unchanged rows keep
pointing into the old buffer and the changed ones into a small new one.
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

# Buffers a RowBytes may point into before `compacted` copies the edited rows into one: each edit adds one, and a
# join pays a little per buffer its rows come from.
MAX_SEGMENTS = 64


class PackedBytes:
    """Items end to end in `buffer`, item i at [offsets[i], offsets[i+1] - 1) followed by one separator byte;
    `heads[i]` (optional) is the length of a prefix of item i that callers cut (e.g. a Feature before its
    geometry)."""

    def __init__(self, buffer: bytes | mmap.mmap, offsets: np.ndarray, heads: np.ndarray | None = None) -> None:
        self.buffer = buffer
        self.separator = bytes(memoryview(buffer)[-1:]) if len(offsets) > 1 else b","
        self.view = memoryview(buffer)
        self.offsets = offsets
        self.heads = heads

    @classmethod
    def from_items(cls, items: Sequence[bytes], heads: np.ndarray | None = None, sep: bytes = b",") -> PackedBytes:
        if len(sep) != 1:
            raise ValueError("the separator is one byte")
        lengths = np.fromiter((len(i) + len(sep) for i in items), dtype=np.int64, count=len(items))
        offsets = np.zeros(len(items) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        buffer = sep.join(items) + sep if len(items) else b""
        return cls(buffer, offsets, heads)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def item(self, i: int) -> bytes:
        return bytes(self.view[int(self.offsets[i]):int(self.offsets[i + 1]) - 1])

    @property
    def nbytes(self) -> int:
        return len(self.view)

    # -- files ----------------------------------------------------------------------------------------------
    def save(self, folder: Path, name: str) -> None:
        """Write as `name.bin` + `name.offsets.npy` (+ `name.heads.npy`) in `folder`."""
        with open(folder / f"{name}.bin", "wb") as out:
            out.write(self.view)
        np.save(folder / f"{name}.offsets.npy", self.offsets)
        if self.heads is not None:
            np.save(folder / f"{name}.heads.npy", self.heads)

    @classmethod
    def load(cls, folder: Path, name: str) -> PackedBytes:
        """Map a saved buffer read-only: shared with every other process that maps the same file."""
        path = folder / f"{name}.bin"
        buffer: bytes | mmap.mmap = b""
        if path.stat().st_size:
            fd = os.open(path, os.O_RDONLY)
            try:
                buffer = mmap.mmap(fd, 0, access=mmap.ACCESS_READ)
            finally:
                os.close(fd)
        heads_path = folder / f"{name}.heads.npy"
        heads = mapped_array(heads_path) if heads_path.exists() else None
        return cls(buffer, mapped_array(folder / f"{name}.offsets.npy"), heads)


class RowBytes:
    """Per row of a table: one item of one of `segments` (`segment[row]`, `item[row]`)."""

    def __init__(self, segments: tuple[PackedBytes, ...], segment: np.ndarray, item: np.ndarray) -> None:
        self.segments, self.segment, self.item = segments, segment, item

    @classmethod
    def whole(cls, packed: PackedBytes) -> RowBytes:
        """Row i is item i of one buffer."""
        return cls((packed,), np.zeros(len(packed), dtype=np.int32), np.arange(len(packed), dtype=np.int64))

    def __len__(self) -> int:
        return len(self.item)

    def __getitem__(self, row: int) -> bytes:
        return self.segments[int(self.segment[row])].item(int(self.item[row]))

    def head_length(self, row: int) -> int:
        return int(self.segments[int(self.segment[row])].heads[int(self.item[row])])

    def head_lengths(self, rows: np.ndarray) -> np.ndarray:
        out = np.empty(len(rows), dtype=np.int64)
        seg, item = self.segment[rows], self.item[rows]
        for k in np.unique(seg).tolist():
            at = seg == k
            out[at] = self.segments[k].heads[item[at]]
        return out

    def join(self, rows: np.ndarray) -> bytes:
        """The items at `rows`, separated by the separator byte: one slice per run of rows stored one after another
        (a whole unfiltered page is one copy)."""
        if len(rows) == 0:
            return b""
        seg, item = self.segment[rows], self.item[rows]
        if len(self.segments) == 1:
            breaks = np.flatnonzero(np.diff(item) != 1) + 1
        else:
            breaks = np.flatnonzero((np.diff(item) != 1) | (np.diff(seg) != 0)) + 1
        first = item[np.concatenate(([0], breaks))]
        last = item[np.concatenate((breaks - 1, [len(item) - 1]))]
        if len(self.segments) == 1:
            packed = self.segments[0]
            starts, ends = packed.offsets[first].tolist(), packed.offsets[last + 1].tolist()
            view = packed.view
            parts = [view[a:b] for a, b in zip(starts, ends, strict=True)]
        else:
            run_seg = seg[np.concatenate(([0], breaks))]
            starts, ends = np.empty(len(first), dtype=np.int64), np.empty(len(first), dtype=np.int64)
            for k in np.unique(run_seg).tolist():
                at = run_seg == k
                starts[at] = self.segments[k].offsets[first[at]]
                ends[at] = self.segments[k].offsets[last[at] + 1]
            views = [s.view for s in self.segments]
            parts = [views[k][a:b] for k, a, b in zip(run_seg.tolist(), starts.tolist(), ends.tolist(), strict=True)]
        parts[-1] = parts[-1][:-1]  # no separator after the last item
        return b"".join(parts)

    def items(self, rows: np.ndarray) -> list[bytes]:
        """The items at `rows`, each as bytes of its own."""
        rows = np.asarray(rows, dtype=np.int64)
        seg, item = self.segment[rows], self.item[rows]
        starts, ends = np.empty(len(rows), dtype=np.int64), np.empty(len(rows), dtype=np.int64)
        for k in np.unique(seg).tolist():
            at = seg == k
            offsets = self.segments[k].offsets
            starts[at], ends[at] = offsets[item[at]], offsets[item[at] + 1] - 1
        if len(self.segments) == 1:
            view = self.segments[0].view
            return [view[a:b].tobytes() for a, b in zip(starts.tolist(), ends.tolist(), strict=True)]
        views = [s.view for s in self.segments]
        return [views[k][a:b].tobytes() for k, a, b in zip(seg.tolist(), starts.tolist(), ends.tolist(), strict=True)]

    def updated(self, kept_rows: np.ndarray | None, new: PackedBytes | None, new_rows: np.ndarray, n: int
                ) -> RowBytes:
        """Rows after an edit: the first len(kept_rows) rows are old rows `kept_rows` (None: all old rows, in
        order); `new_rows[j]` is the row of new item j (it may replace a kept row)."""
        segment = np.empty(n, dtype=np.int32)
        item = np.empty(n, dtype=np.int64)
        n_kept = len(self) if kept_rows is None else len(kept_rows)
        if kept_rows is None:
            segment[:n_kept], item[:n_kept] = self.segment, self.item
        else:
            np.take(self.segment, kept_rows, out=segment[:n_kept])
            np.take(self.item, kept_rows, out=item[:n_kept])
        segments = self.segments
        if new is not None and len(new):
            segment[new_rows] = len(segments)
            item[new_rows] = np.arange(len(new), dtype=np.int64)
            segments = (*segments, new)
        rows = RowBytes(segments, segment, item)
        return rows.compacted() if len(segments) > MAX_SEGMENTS else rows

    def lengths(self, rows: np.ndarray) -> np.ndarray:
        """Stored length (item + separator) of each row's item."""
        out = np.empty(len(rows), dtype=np.int64)
        seg, item = self.segment[rows], self.item[rows]
        for k in np.unique(seg).tolist():
            at = seg == k
            offsets = self.segments[k].offsets
            out[at] = offsets[item[at] + 1] - offsets[item[at]]
        return out

    def compacted(self) -> RowBytes:
        """The rows of every edit's buffer copied into one, the first buffer (the prepared, often memory-mapped,
        one) kept as it is: the cost is the edited rows', not the layer's, and mapped pages stay shared."""
        edited = np.flatnonzero(self.segment != 0)
        first = self.segments[0]
        heads = self.head_lengths(edited) if all(s.heads is not None for s in self.segments) else None
        packed = PackedBytes.from_items(self.items(edited), heads, sep=first.separator)
        segment = (self.segment != 0).astype(np.int32)
        item = self.item.copy()
        item[edited] = np.arange(len(edited), dtype=np.int64)
        return RowBytes((first, packed), segment, item)

    def flattened(self) -> RowBytes:
        """The same rows copied into one buffer (in row order), e.g. to be written as a prepared layer."""
        rows = np.arange(len(self))
        offsets = np.zeros(len(self) + 1, dtype=np.int64)
        np.cumsum(self.lengths(rows), out=offsets[1:])
        buffer = self.join(rows) + self.segments[0].separator if len(self) else b""
        heads = self.head_lengths(rows) if all(s.heads is not None for s in self.segments) else None
        return RowBytes.whole(PackedBytes(buffer, offsets, heads))


def mapped_array(path: Path) -> np.ndarray:
    """An .npy file memory-mapped read-only, as a plain ndarray: the pages stay shared between processes, and
    indexing it skips np.memmap's per-call bookkeeping (a few microseconds on every request)."""
    return np.load(path, mmap_mode="r").view(np.ndarray)
