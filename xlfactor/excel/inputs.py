"""Reading tables typed into a sheet: optional text header row, numbers below."""

from __future__ import annotations

from typing import Any

from xlfactor.domain.errors import InvalidInputError
from xlfactor.excel.sheet import flatten

#: Largest in-sheet regression accepted (rows x columns cells).
MAX_CELLS = 5_000_000


def as_rows(value: Any, what: str) -> list[list[Any]]:
    """A range argument as a list of rows (a single cell or a 1-D list becomes a column)."""
    if value is None:
        raise InvalidInputError(f"{what} is empty")
    if not isinstance(value, (list, tuple)):
        return [[value]]
    if value and all(isinstance(r, (list, tuple)) for r in value):
        rows = [list(r) for r in value]
    else:
        rows = [[v] for v in value]
    if any(isinstance(c, (list, tuple)) for r in rows for c in r):
        raise InvalidInputError(f"{what} must be a range of cells (rows of values), not nested lists")
    widths = {len(r) for r in rows}
    if len(widths) != 1:
        raise InvalidInputError(f"{what} is not rectangular")
    if len(rows) * widths.pop() > MAX_CELLS:
        raise InvalidInputError(f"{what} is too large (more than {MAX_CELLS:,} cells)")
    return rows


def _is_label(cell: Any) -> bool:
    if not isinstance(cell, str):
        return False
    try:
        float(cell)
    except ValueError:
        return bool(cell.strip())
    return False


def split_header(value: Any, what: str) -> tuple[list[list[Any]], list[str] | None]:
    """Split off a header row when the first row is all text labels.

    Numbers typed as text elsewhere are left for the numeric check, which reports the
    exact row and column.
    """
    rows = as_rows(value, what)
    first = rows[0]
    if all(_is_label(c) for c in first) and len(rows) > 1:
        return rows[1:], [str(c).strip() for c in first]
    if any(_is_label(c) for c in flatten(rows)):
        bad = next((i, j, c) for i, r in enumerate(rows) for j, c in enumerate(r) if _is_label(c))
        raise InvalidInputError(
            f"{what} row {bad[0] + 1}, column {bad[1] + 1}: {str(bad[2])[:30]!r} is not a number"
        )
    return rows, None


def orient_like_linest(y_value: Any, x_value: Any) -> tuple[list[list[Any]], list[list[Any]]]:
    """``y`` and ``x`` ranges as rows of observations, following LINEST's rule.

    A ``y`` in one column has one observation per row and ``x`` one variable per column.
    A ``y`` in one row has one observation per column, and each row of ``x`` is a variable
    (Excel: "If known_y's is in a single row, each row of known_x's is a separate
    variable"); both are transposed, so labels in the first column become a header row.
    A ``y`` spanning several rows and columns is rejected: only one regression fits the
    sheet layout, and silently using the first column would mislead.
    """
    y_rows = as_rows(y_value, "y_range")
    x_rows = as_rows(x_value, "x_range")
    if len(y_rows[0]) == 1:
        return y_rows, x_rows
    if len(y_rows) == 1:
        return [[v] for v in y_rows[0]], [list(col) for col in zip(*x_rows)]
    raise InvalidInputError(
        f"y_range must be one column or one row, got {len(y_rows)} rows x {len(y_rows[0])} columns"
    )
