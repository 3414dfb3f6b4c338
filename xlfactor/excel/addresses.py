"""Excel's sheet bounds and A1 column letters."""

from __future__ import annotations

#: The last row and column of an Excel sheet (``XFD1048576``).
MAX_ROW, MAX_COL = 1_048_576, 16_384


def column_number(letters: str) -> int:
    """``"A"`` -> 1, ``"AB"`` -> 28 (upper-case letters)."""
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def column_letters(col: int) -> str:
    """1 -> ``"A"``, 28 -> ``"AB"``."""
    out = ""
    while col:
        col, rem = divmod(col - 1, 26)
        out = chr(65 + rem) + out
    return out


def is_whole_lines(top: int, left: int, bottom: int, right: int) -> bool:
    """Whether a range spans whole columns or whole rows of the sheet (``A:A``, ``1:1``):
    a reader should then read only as far as the sheet holds values, never a million rows."""
    return (top == 1 and bottom == MAX_ROW) or (left == 1 and right == MAX_COL)
