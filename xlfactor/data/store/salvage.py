"""The entries that can still be read from a damaged cache file, found page by page.

SQLite gives up on a whole query at the first damaged page it meets, and a damaged
interior page hides every row below it. The rows themselves are still in the file's table
leaf pages (and in the -wal file's frames), so this module reads those directly, after the
SQLite file format (https://www.sqlite.org/fileformat2.html, sections 1.6 and 2.1-2.3):
the header for the page size, every page whose type byte says "table leaf", each cell's
record with its overflow chain. A row is kept only when it is a complete ``frames`` row
whose payload matches its SHA-256 digest, decodes to a frame and has readable metadata, so
damage can lose an entry but never change one. Pages on the free list (rows replaced or
deleted long ago) are skipped while the list itself can be read, and of several versions
of one key the most recently fetched wins. When SQLite can still list the table's keys
(its primary-key index is a separate B-tree, often intact), only those keys are restored,
so a deleted entry does not come back.
"""

from __future__ import annotations

import hashlib
import json
import math
import sqlite3
import struct
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from xlfactor.data.store import codec

__all__ = ["Salvage", "SalvagedRow", "salvage"]

_TABLE_LEAF = 0x0D
_WAL_HEADER, _WAL_FRAME_HEADER = 32, 24
_DEFAULT_PAGE_SIZE = 4096
# Longest chain of overflow pages followed for one row: beyond the largest frame the
# store writes (MAX_PAYLOAD_BYTES of 512-byte pages would be 2M pages), a loop.
_MAX_CHAIN = 1 << 22


@dataclass(frozen=True)
class SalvagedRow:
    """One verified row of the ``frames`` table, as it was stored."""

    key: str
    meta: str
    fetched_at: float
    digest: str
    payload: bytes


@dataclass(frozen=True)
class Salvage:
    """What could be read from a damaged file.

    Attributes
    ----------
    rows : list of SalvagedRow
        Verified rows, one per key (the most recently fetched).
    listed_keys : frozenset of str or None
        The keys SQLite could still list (complete list), or None when it could not.
    """

    rows: list[SalvagedRow]
    listed_keys: frozenset[str] | None

    @property
    def lost(self) -> list[str] | None:
        """Listed keys without a verified row, sorted; None when the keys are unknown."""
        if self.listed_keys is None:
            return None
        found = {row.key for row in self.rows}
        return sorted(self.listed_keys - found)


def salvage(path: Path) -> Salvage:
    """Every verifiable ``frames`` row of the (damaged) database ``path`` and its -wal.

    Never raises for damage: an unreadable file gives no rows. The file is only read.

    Parameters
    ----------
    path : Path
        The database file; ``<path>-wal`` is read too when it exists.

    Returns
    -------
    Salvage
    """
    listed = _listed_keys(path)
    best: dict[str, SalvagedRow] = {}
    for row in _rows(path):
        if listed is not None and row.key not in listed:
            continue
        kept = best.get(row.key)
        if kept is None or row.fetched_at > kept.fetched_at:
            best[row.key] = row
    return Salvage(sorted(best.values(), key=lambda r: r.key), listed)


def _listed_keys(path: Path) -> frozenset[str] | None:
    """The keys of ``frames`` as SQLite lists them, or None if it cannot list them all."""
    try:
        uri = f"{path.resolve().as_uri()}?mode=ro"
        with closing(sqlite3.connect(uri, uri=True)) as conn:
            keys = [key for (key,) in conn.execute("SELECT key FROM frames")]
    except (sqlite3.Error, OSError, ValueError):
        return None
    # A damaged index can answer NULL or a number for a key: then the list is not to be
    # trusted either.
    return frozenset(keys) if all(isinstance(k, str) for k in keys) else None


# ------------------------------------------------------------------------------ pages


def _rows(path: Path) -> Iterator[SalvagedRow]:
    try:
        data = path.read_bytes()
    except OSError:
        data = b""
    page_size, reserved = _page_geometry(data)
    pages = _Pages(data, page_size, reserved)
    free = _free_pages(pages)
    for number in range(1, pages.count + 1):
        if number not in free:
            yield from _leaf_rows(pages, number)
    wal = _wal_pages(Path(f"{path}-wal"), page_size, reserved)
    if wal is not None:
        for number in range(1, wal.count + 1):
            yield from _leaf_rows(wal, number, overflow=pages)


def _page_geometry(data: bytes) -> tuple[int, int]:
    """Page size and reserved bytes per page from the header; defaults if it is damaged."""
    if len(data) >= 100 and data[:16] == b"SQLite format 3\x00":
        size = struct.unpack_from(">H", data, 16)[0]
        size = 65536 if size == 1 else size
        reserved = data[20]
        if 512 <= size <= 65536 and size & (size - 1) == 0 and reserved < size - 480:
            return size, reserved
    return _DEFAULT_PAGE_SIZE, 0


class _Pages:
    """Pages of one file (or of a WAL's frames), numbered from 1."""

    def __init__(self, data: bytes, page_size: int, reserved: int,
                 numbered: dict[int, bytes] | None = None) -> None:
        self.data, self.size, self.usable = data, page_size, page_size - reserved
        self._numbered = numbered
        self.count = len(numbered) if numbered is not None else len(data) // page_size
        self._order = sorted(numbered) if numbered is not None else None

    def page(self, number: int) -> bytes | None:
        """Page ``number`` of the file (1-based), or None beyond its end."""
        if self._numbered is not None:
            return self._numbered.get(number)
        if not 1 <= number <= self.count:
            return None
        start = (number - 1) * self.size
        return self.data[start:start + self.size]

    def nth(self, index: int) -> tuple[int, bytes]:
        """The ``index``-th page held (1-based) and its number."""
        if self._order is None:
            return index, self.page(index) or b""
        number = self._order[index - 1]
        return number, self._numbered[number]  # type: ignore[index]


def _wal_pages(path: Path, page_size: int, reserved: int) -> _Pages | None:
    """The pages of a -wal file's frames, the last frame of each page number winning."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if len(data) < _WAL_HEADER:
        return None
    size = struct.unpack_from(">I", data, 8)[0]
    if size != page_size and 512 <= size <= 65536 and size & (size - 1) == 0:
        page_size = size
    numbered: dict[int, bytes] = {}
    offset = _WAL_HEADER
    while offset + _WAL_FRAME_HEADER + page_size <= len(data):
        number = struct.unpack_from(">I", data, offset)[0]
        start = offset + _WAL_FRAME_HEADER
        if number:
            numbered[number] = data[start:start + page_size]
        offset = start + page_size
    return _Pages(b"", page_size, reserved, numbered) if numbered else None


def _free_pages(pages: _Pages) -> set[int]:
    """Page numbers on the free list, as far as the list can be followed."""
    header = pages.page(1)
    if header is None or len(header) < 40:
        return set()
    trunk = struct.unpack_from(">I", header, 32)[0]
    free: set[int] = set()
    while trunk and trunk not in free and len(free) <= pages.count:
        page = pages.page(trunk)
        if page is None:
            break
        free.add(trunk)
        next_trunk, count = struct.unpack_from(">II", page, 0)
        count = min(count, (pages.usable - 8) // 4)
        free.update(struct.unpack_from(f">{count}I", page, 8))
        trunk = next_trunk
    return free


def _leaf_rows(pages: _Pages, index: int, overflow: _Pages | None = None
               ) -> Iterator[SalvagedRow]:
    """The verified rows on one page, if it is a table leaf page."""
    number, page = pages.nth(index)
    start = 100 if number == 1 else 0
    if len(page) < start + 8 or page[start] != _TABLE_LEAF:
        return
    cells = struct.unpack_from(">H", page, start + 3)[0]
    for i in range(cells):
        try:
            pointer = struct.unpack_from(">H", page, start + 8 + 2 * i)[0]
            record = _cell_record(page, pointer, pages, overflow)
            row = _frames_row(record) if record is not None else None
        except (struct.error, IndexError, ValueError, UnicodeDecodeError, OverflowError):
            row = None  # a damaged cell: the next one may be fine
        if row is not None:
            yield row


def _cell_record(page: bytes, offset: int, pages: _Pages, overflow: _Pages | None
                 ) -> bytes | None:
    """The whole record of the table leaf cell at ``offset``, overflow pages included."""
    size, offset = _varint(page, offset)
    _rowid, offset = _varint(page, offset)
    usable = pages.usable
    local = _local_size(size, usable)
    if local == size:
        return page[offset:offset + size]
    parts = [page[offset:offset + local]]
    remaining = size - local
    (next_page,) = struct.unpack_from(">I", page, offset + local)
    seen: set[int] = set()
    while remaining > 0:
        if not next_page or next_page in seen or len(seen) > _MAX_CHAIN:
            return None
        seen.add(next_page)
        chunk = pages.page(next_page)
        if chunk is None and overflow is not None:
            chunk = overflow.page(next_page)
        if chunk is None:
            return None
        (following,) = struct.unpack_from(">I", chunk, 0)
        parts.append(chunk[4:4 + min(remaining, usable - 4)])
        remaining -= usable - 4
        next_page = following
    return b"".join(parts)


def _local_size(size: int, usable: int) -> int:
    """Bytes of a table leaf payload of ``size`` stored on the page itself."""
    most = usable - 35
    if size <= most:
        return size
    least = (usable - 12) * 32 // 255 - 23
    local = least + (size - least) % (usable - 4)
    return local if local <= most else least


def _varint(data: bytes, offset: int) -> tuple[int, int]:
    """SQLite's big-endian varint at ``offset``: its value and the offset after it."""
    value = 0
    for i in range(9):
        byte = data[offset + i]
        if i == 8:
            return (value << 8) | byte, offset + 9
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value, offset + i + 1
    raise ValueError("unterminated varint")  # unreachable: the loop returns


_INT_SIZES = {1: 1, 2: 2, 3: 3, 4: 4, 5: 6, 6: 8}


def _values(record: bytes) -> list[object]:
    """The column values of one record."""
    header_size, offset = _varint(record, 0)
    types = []
    while offset < header_size:
        serial, offset = _varint(record, offset)
        types.append(serial)
    values: list[object] = []
    body = header_size
    for serial in types:
        if serial in _INT_SIZES:
            width = _INT_SIZES[serial]
            values.append(int.from_bytes(record[body:body + width], "big", signed=True))
            body += width
        elif serial == 7:
            values.append(struct.unpack_from(">d", record, body)[0])
            body += 8
        elif serial in (0, 8, 9):
            values.append(None if serial == 0 else serial - 8)
        elif serial >= 12:
            width = (serial - 12) // 2
            chunk = record[body:body + width]
            if len(chunk) != width:
                raise ValueError("record shorter than its header")
            values.append(chunk if serial % 2 == 0 else chunk.decode("utf-8"))
            body += width
        else:
            raise ValueError(f"reserved serial type {serial}")
    return values


def _frames_row(record: bytes) -> SalvagedRow | None:
    """The record as a ``frames`` row, if it is one and it verifies."""
    values = _values(record)
    if len(values) != 5:
        return None
    key, meta, fetched_at, digest, payload = values
    if not (isinstance(key, str) and isinstance(meta, str) and isinstance(digest, str)
            and isinstance(payload, bytes) and isinstance(fetched_at, (int, float))):
        return None
    if hashlib.sha256(payload).hexdigest() != digest or not math.isfinite(fetched_at):
        return None
    try:
        codec.decode_payload(payload)
        if not isinstance(json.loads(meta), dict):
            return None
    except (codec.CorruptPayload, ValueError, RecursionError):
        return None
    return SalvagedRow(key, meta, float(fetched_at), digest, payload)
