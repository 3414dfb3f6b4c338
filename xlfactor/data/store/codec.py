"""Frames to payload bytes and back, with the digest that guards each row.

Frames are serialised as a JSON header plus raw little-endian ``int64`` / ``float64``
bytes, never pickled, so a foreign or tampered cache file can at worst be rejected.

Payload layout (before zlib compression)::

    b"XLF1" | uint32 LE header length | header JSON (UTF-8)
    | nrows x int64 LE index ticks | nrows x ncols float64 LE values, C order

The index ticks are in the index's own resolution (``header["index_unit"]``): pandas 3
creates microsecond indexes by default, and keeping the unit makes the round trip exact,
dtype included. The index ``freq`` is not stored.
"""

from __future__ import annotations

import hashlib
import json
import struct
import zlib
from typing import Any

import numpy as np
import pandas as pd

from xlfactor.domain.errors import shorten

__all__ = [
    "MAX_PAYLOAD_BYTES",
    "CorruptPayload",
    "build_frame",
    "check_key",
    "decode_payload",
    "encode_payload",
    "frame_nbytes",
    "frame_parts",
    "payload_digest",
]

#: Bytes a cached frame may expand to when decompressed (a damaged or hostile row must
#: not exhaust memory); the largest frames xlfactor writes are a few hundred MB. Read at
#: every decode, so patching it here takes effect at once.
MAX_PAYLOAD_BYTES = 1 << 30

_MAGIC = b"XLF1"
_PREFIX = struct.Struct("<4sI")
# Level 1: on a 26k x 5 frame of returns it compresses in ~15 ms instead of ~70 ms (level
# 6) for a file only ~15 % larger; float mantissas are close to incompressible anyway.
_ZLIB_LEVEL = 1
_INDEX_UNITS = frozenset({"s", "ms", "us", "ns"})


class CorruptPayload(ValueError):
    """A payload that does not decode to a frame."""


def check_key(key: str) -> None:
    """Reject a cache key that is not a ``str``.

    Raises
    ------
    TypeError
        If ``key`` is not a ``str``.
    """
    if not isinstance(key, str):
        raise TypeError(f"cache keys are str, not {type(key).__name__}")


def _check_frame(frame: pd.DataFrame) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"expected a DataFrame, got {type(frame).__name__}")
    if not isinstance(frame.index, pd.DatetimeIndex):
        raise TypeError(f"frame index must be a DatetimeIndex, not {type(frame.index).__name__}")
    if frame.index.tz is not None:
        raise ValueError(f"frame index must be tz-naive, got tz={frame.index.tz}")
    for label, name in (("index", frame.index.name), ("columns", frame.columns.name)):
        if name is not None and not isinstance(name, str):
            raise TypeError(f"the {label} name must be str or None, got {name!r}")
    bad_names = [name for name in frame.columns if not isinstance(name, str)]
    if bad_names:
        raise TypeError(f"column names must be str, got {bad_names[:3]!r}")
    bad_dtypes = {str(name): str(dtype) for name, dtype in frame.dtypes.items()
                  if dtype != np.float64}
    if bad_dtypes:
        raise TypeError(f"columns must be float64, got {bad_dtypes}")


def frame_parts(frame: pd.DataFrame) -> tuple[dict[str, Any], np.ndarray, np.ndarray]:
    """Validate ``frame`` and split it into header, index ticks and values.

    The arrays are fresh read-only copies, so they can back a memo frame that later
    changes to the caller's frame cannot reach.

    Parameters
    ----------
    frame : DataFrame
        tz-naive ``DatetimeIndex``, ``str`` (or None) index, column and columns names,
        ``float64`` columns.

    Returns
    -------
    header : dict
        JSON-serialisable description: column names, row count, dtype, index name and
        index unit (``"s"``, ``"ms"``, ``"us"`` or ``"ns"``), columns name.
    ticks : ndarray
        ``<i8`` index values in the index's own unit, shape ``(nrows,)``.
    values : ndarray
        ``<f8`` values, C order, shape ``(nrows, ncols)``.

    Raises
    ------
    TypeError, ValueError
        If ``frame`` does not meet the requirements above.
    """
    _check_frame(frame)
    header = {
        "columns": list(frame.columns),
        "nrows": len(frame),
        "dtype": "<f8",
        "index_name": frame.index.name,
        "index_unit": np.datetime_data(frame.index.dtype)[0],
        "columns_name": frame.columns.name,
    }
    ticks = np.array(frame.index.to_numpy().view(np.int64), dtype="<i8", copy=True)
    values = np.array(frame.to_numpy(dtype=np.float64), dtype="<f8", order="C", copy=True)
    ticks.setflags(write=False)
    values.setflags(write=False)
    return header, ticks, values


def encode_payload(header: dict[str, Any], ticks: np.ndarray, values: np.ndarray) -> bytes:
    """The zlib-compressed payload of the parts made by :func:`frame_parts`.

    Raises
    ------
    TypeError
        If ``header`` is not JSON-serialisable.
    """
    try:
        header_bytes = json.dumps(header, separators=(",", ":")).encode("utf-8")
    except TypeError as exc:  # e.g. a non-str index name
        raise TypeError(f"frame header is not JSON-serialisable: {exc}") from exc
    raw = b"".join((_PREFIX.pack(_MAGIC, len(header_bytes)), header_bytes,
                    ticks.tobytes(), values.tobytes()))
    return zlib.compress(raw, _ZLIB_LEVEL)


def build_frame(header: dict[str, Any], ticks: np.ndarray, values: np.ndarray) -> pd.DataFrame:
    """Frame over the given arrays without copying them (they are read-only)."""
    index = pd.DatetimeIndex(ticks.view(f"M8[{header['index_unit']}]"), name=header["index_name"])
    columns = pd.Index(header["columns"], name=header["columns_name"])
    return pd.DataFrame(values, index=index, columns=columns, copy=False)


def _parse_header(raw: bytes) -> tuple[dict[str, Any], int]:
    """Header dict and the offset where the index bytes start."""
    magic, length = _PREFIX.unpack_from(raw)
    if magic != _MAGIC:
        raise CorruptPayload(f"unknown payload format {magic!r}")
    header = json.loads(raw[_PREFIX.size:_PREFIX.size + length].decode("utf-8"))
    columns = header.get("columns") if isinstance(header, dict) else None
    if (not isinstance(columns, list) or not all(isinstance(c, str) for c in columns)
            or type(header.get("nrows")) is not int or header["nrows"] < 0
            or header.get("dtype") != "<f8" or header.get("index_unit") not in _INDEX_UNITS):
        raise CorruptPayload("payload header is malformed")
    return header, _PREFIX.size + length


def decode_payload(payload: bytes) -> pd.DataFrame:
    """Inverse of :func:`encode_payload`.

    The frame sits on read-only arrays over the decompressed bytes, which may be at most
    :data:`MAX_PAYLOAD_BYTES` long.

    Raises
    ------
    CorruptPayload
        If the bytes are not a well-formed payload. Whatever goes wrong decoding them
        (a JSON header nested too deep for the parser's recursion, a header asking for
        more memory than there is, a bad type...) is this error, so that the caller can
        drop the row instead of failing on it at every read.
    """
    try:
        inflater = zlib.decompressobj()
        raw = inflater.decompress(payload, MAX_PAYLOAD_BYTES)
        if inflater.unconsumed_tail:
            raise CorruptPayload(f"payload expands beyond {MAX_PAYLOAD_BYTES} bytes")
        header, offset = _parse_header(raw)
        nrows, ncols = header["nrows"], len(header["columns"])
        if len(raw) != offset + 8 * nrows * (1 + ncols):
            raise CorruptPayload("payload length does not match its header")
        ticks = np.frombuffer(raw, dtype="<i8", count=nrows, offset=offset)
        values = np.frombuffer(raw, dtype="<f8", count=nrows * ncols, offset=offset + 8 * nrows)
        return build_frame(header, ticks, values.reshape(nrows, ncols))
    except CorruptPayload:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure means "this row is unreadable"
        # RecursionError and MemoryError included: both come from the row's content, not
        # from the state of the process, and would recur at every read of the same bytes.
        raise CorruptPayload(f"{type(exc).__name__}: {shorten(str(exc))}") from exc


def payload_digest(payload: bytes) -> str:
    """SHA-256 of ``payload`` as 64 lowercase hex digits, stored beside it in its row."""
    return hashlib.sha256(payload).hexdigest()


def frame_nbytes(frame: pd.DataFrame) -> int:
    """Bytes of a cacheable frame's index and values (8 per cell, index included)."""
    return 8 * len(frame) * (frame.shape[1] + 1)
