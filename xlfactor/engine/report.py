"""Plain-text rendering of results: aligned, labelled tables for the terminal and logs."""

from __future__ import annotations

import math

import pandas as pd


def fmt_number(value: object, digits: int = 4) -> str:
    """A compact fixed or scientific representation; NaN shows as ``nan``, never blank."""
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if isinstance(value, (int,)) and not isinstance(value, bool):
        return f"{value:,d}"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if value != 0.0 and (abs(value) < 10 ** -(digits) or abs(value) >= 1e7):
            return f"{value:.{digits - 1}e}"
        return f"{value:.{digits}f}"
    return str(value)


def format_table(frame: pd.DataFrame, index_label: str = "") -> str:
    """Right-aligned columns with a rule under the header."""
    cells = [[index_label, *map(str, frame.columns)]]
    for idx, row in frame.astype(object).iterrows():  # object: integers stay integers
        cells.append([str(idx), *(fmt_number(v) for v in row.tolist())])
    widths = [max(len(r[i]) for r in cells) for i in range(len(cells[0]))]
    lines = []
    for n, row in enumerate(cells):
        first = row[0].ljust(widths[0])
        rest = "  ".join(c.rjust(w) for c, w in zip(row[1:], widths[1:]))
        lines.append(f"{first}  {rest}")
        if n == 0:
            lines.append("-" * len(lines[0]))
    return "\n".join(lines)


def format_pairs(pairs: list[tuple[str, object]]) -> str:
    width = max(len(k) for k, _ in pairs)
    return "\n".join(f"{k.ljust(width)}  {fmt_number(v)}" for k, v in pairs)


def format_summary(results) -> str:
    """Header describing the estimation, then one coefficient block per asset."""
    head = format_pairs(results.info.describe())
    blocks = [head]
    for asset in results.assets:
        title = f"{asset}"
        table = format_table(results.asset_table(asset), "coefficient")
        stats = format_pairs(results.asset_stats(asset))
        blocks.append(f"{title}\n{'=' * max(len(table.splitlines()[0]), len(title))}\n{table}\n\n{stats}")
    for asset, err in results.failed.items():
        blocks.append(f"{asset}: not estimated: {err}")
    return "\n\n".join(blocks)
