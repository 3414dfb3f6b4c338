"""Render the template to PDF and PNG pages for eyeballing: ``python workbook/render.py``.

Needs LibreOffice (``soffice``) and poppler's ``pdftoppm`` on the PATH, e.g.
``apt-get install libreoffice-calc poppler-utils``. Output goes to ``build/render/``
(ignored by git), in two folders:

``template/``
    The committed workbook as it is. LibreOffice has no Python behind the FACTOR_*
    functions, so those cells show ``#NAME?``; Excel's own LINEST computes.
``preview/``
    The workbook after a Refresh on the offline sample: :func:`xlfactor.refresh.refresh`
    runs against a small stand-in for Excel built on openpyxl, whose "recalculation"
    calls the worksheet functions of :mod:`xlfactor.udfs` and writes their tables where
    Excel would spill them, and whose pictures are the real charts. This shows the
    column widths, number formats and chart placement with numbers in the cells.
    (openpyxl drops the buttons and the dynamic-array flags, so the preview is for
    looking at only; it is saved as ``.xlsx``.)
"""

from __future__ import annotations

import argparse
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
TEMPLATE = HERE / "xlfactor_template.xlsm"
OUT = HERE.parent / "build" / "render"


def require(tool: str) -> str:
    """Full path of a command-line tool, or a clear error naming the package to install."""
    found = shutil.which(tool)
    if found is None:
        raise SystemExit(f"{tool} not found: install libreoffice-calc and poppler-utils")
    return found


#: LibreOffice setting: recalculate OOXML files on load (0 = always). Its default keeps the
#: cached values XlsxWriter wrote (zeros), which would hide what the formulas show.
_RECALC_ON_LOAD = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry"
 xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load">
<prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
</oor:items>
"""


def _soffice(profile: str, target: str, source: Path, out_dir: Path) -> None:
    subprocess.run(
        [require("soffice"), f"-env:UserInstallation=file://{profile}", "--headless",
         "--convert-to", target, "--outdir", str(out_dir), str(source)],
        check=True, capture_output=True, timeout=300,
    )


def printable_buttons(ods: Path) -> None:
    """Mark the form buttons printable, so the PDF shows where they sit.

    Excel's buttons are not printed (XlsxWriter writes them so, as Excel does); the render
    is for checking their position and caption, so this copy flips the flag.
    """
    with zipfile.ZipFile(ods) as book:
        members = [(info, book.read(info.filename)) for info in book.infolist()]
    with zipfile.ZipFile(ods, "w") as book:
        # ODF wants the uncompressed "mimetype" member first: keep order and compression.
        for info, data in members:
            if info.filename == "content.xml":
                data = data.replace(b'form:printable="false"', b'form:printable="true"')
            book.writestr(info, data, compress_type=info.compress_type)


def to_pdf(workbook: Path, out_dir: Path) -> Path:
    """Convert via ODS with a throw-away LibreOffice profile (a shared one may be locked)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="lo-profile-") as profile, \
            tempfile.TemporaryDirectory(prefix="lo-ods-") as middle:
        user = Path(profile) / "user"
        user.mkdir()
        (user / "registrymodifications.xcu").write_text(_RECALC_ON_LOAD, encoding="utf-8")
        _soffice(profile, "ods", workbook, Path(middle))
        ods = Path(middle) / (workbook.stem + ".ods")
        printable_buttons(ods)
        _soffice(profile, "pdf", ods, out_dir)
    pdf = out_dir / (workbook.stem + ".pdf")
    if not pdf.is_file():
        raise SystemExit(f"LibreOffice produced no PDF for {workbook}")
    return pdf


def to_png(pdf: Path, out_dir: Path, dpi: int = 80) -> list[Path]:
    """One PNG per PDF page, named page-1.png, page-2.png..."""
    for old in out_dir.glob("page-*.png"):
        old.unlink()
    subprocess.run([require("pdftoppm"), "-png", "-r", str(dpi), str(pdf), str(out_dir / "page")],
                   check=True, capture_output=True, timeout=300)
    pages = sorted(out_dir.glob("page-*.png"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
    return pages


# -- preview: a Refresh on the offline sample, without Excel ------------------------------------
#: Inputs for the preview: sample portfolios (the offline data are monthly, 1949-2017).
PREVIEW_INPUTS: dict[str, Any] = {
    "Tickers": ["NoDur", "Hlth", "Enrgy", "S1V1", "S5V5"],
    "Model": "CARHART4",
    "StartDate": datetime(2010, 1, 1),
    "EndDate": datetime(2017, 3, 31),
    "Freq": "M",
    "SEType": "HAC",
    "NWLags": None,
    "Window": 36,
    "Region": "US",
    # Typed over the template's equal-weight formulas (openpyxl cannot evaluate those).
    "Weights": [0.3, 0.25, 0.2, 0.15, 0.1],
    "Rebalance": "daily",
}
_CALL = re.compile(r"^=?\s*([A-Z_][A-Z0-9_.]*)\((.*)\)\s*$", re.DOTALL)
_RANGE = re.compile(r"^\$?[A-Z]{1,3}\$?\d+(:\$?[A-Z]{1,3}\$?\d+)?$")


def split_args(text: str) -> list[str]:
    """Top-level comma-separated arguments of a formula call (no nesting beyond brackets)."""
    args, depth, current, quoted = [], 0, "", False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in "(":
            depth += 1
        elif not quoted and ch in ")":
            depth -= 1
        elif not quoted and depth == 0 and ch == ",":
            args.append(current.strip())
            current = ""
            continue
        current += ch
    if current.strip() or args:
        args.append(current.strip())
    return args


class _Range:
    """A cell or block of an openpyxl sheet, with the xlwings attributes refresh.py uses."""

    def __init__(self, book: _Book, ws: Any, ref: str) -> None:
        self.book, self.ws, self.ref = book, ws, ref.replace("$", "")

    def _cells(self) -> list[list[Any]]:
        block = self.ws[self.ref]
        if not isinstance(block, tuple):
            return [[block]]
        return [list(row) if isinstance(row, tuple) else [row] for row in block]

    @property
    def value(self) -> Any:
        rows = [[c.value for c in row] for row in self._cells()]
        if len(rows) == 1 and len(rows[0]) == 1:
            return rows[0][0]
        if all(len(r) == 1 for r in rows):
            return [r[0] for r in rows]
        return rows

    @value.setter
    def value(self, new: Any) -> None:
        self._cells()[0][0].value = new

    @property
    def formula2(self) -> Any:
        from openpyxl.worksheet.formula import ArrayFormula

        v = self._cells()[0][0].value
        return v.text if isinstance(v, ArrayFormula) else v

    @formula2.setter
    def formula2(self, formula: Any) -> None:
        self.book.dirty.append((self, formula))

    @property
    def sheet(self) -> _Sheet:
        return _Sheet(self.book, self.ws)


class _Pictures:
    def __init__(self, book: _Book, ws: Any) -> None:
        self.book, self.ws = book, ws

    def add(self, image: Any, *, name: str, update: bool, anchor: _Range) -> None:
        from openpyxl.drawing.image import Image
        from PIL import Image as PILImage

        if isinstance(image, (str, os.PathLike)):
            data = Path(image).read_bytes()
        else:
            buffer = io.BytesIO()
            # What xlwings does with a figure (tight box); at 96 dpi the pixel size that
            # openpyxl records equals the physical size Excel would show.
            image.savefig(buffer, format="png", dpi=96, bbox_inches="tight")
            data = buffer.getvalue()
        dpi = PILImage.open(io.BytesIO(data)).info.get("dpi", (96, 96))[0] or 96
        picture = Image(io.BytesIO(data))
        picture.width = round(picture.width * 96 / dpi)
        picture.height = round(picture.height * 96 / dpi)
        self.ws.add_image(picture, anchor.ref.split(":")[0])
        self.book.pictures.append(name)


class _Sheet:
    def __init__(self, book: _Book, ws: Any) -> None:
        self.book, self.ws = book, ws

    @property
    def pictures(self) -> _Pictures:
        return _Pictures(self.book, self.ws)


class _Name:
    def __init__(self, book: _Book, name: str) -> None:
        self.book, self.name = book, name

    @property
    def refers_to_range(self) -> _Range:
        sheet, ref = next(iter(self.book.wb.defined_names[self.name].destinations))
        return _Range(self.book, self.book.wb[sheet], ref)


class _Names:
    def __init__(self, book: _Book) -> None:
        self.book = book

    def __getitem__(self, name: str) -> _Name:
        if name not in self.book.wb.defined_names:
            raise KeyError(name)
        return _Name(self.book, name)

    def __iter__(self) -> Iterator[_Name]:
        return iter([_Name(self.book, n) for n in self.book.wb.defined_names])


class _App:
    def __init__(self, book: _Book) -> None:
        self.book = book
        self.status_bar: str | bool = False

    def calculate(self) -> None:
        """Evaluate the re-entered FACTOR_* formulas and spill their tables into the cells."""
        for rng, formula in self.book.dirty:
            table = self.book.evaluate(rng.ws, formula)
            spill_values(rng, table)
        self.book.dirty.clear()


class _Book:
    """The xlwings ``Book`` surface that :mod:`xlfactor.refresh` uses, over openpyxl."""

    def __init__(self, wb: Any) -> None:
        self.wb = wb
        self.dirty: list[tuple[_Range, Any]] = []
        self.pictures: list[str] = []
        self.app = _App(self)
        self.names = _Names(self)

    def arg(self, ws: Any, text: str) -> Any:
        """One formula argument as xlwings would pass it: names and ranges read from cells."""
        call = _CALL.match(text)
        if call and call.group(1) == "INDEX":
            inner = split_args(call.group(2))
            values = self.arg(ws, inner[0])
            return values[int(inner[1]) - 1][0]
        if text.upper() in ("TRUE", "FALSE"):
            return text.upper() == "TRUE"
        if not text:
            return None
        if len(text) >= 2 and text[0] == text[-1] == '"':
            return text[1:-1].replace('""', '"')
        if _RANGE.match(text):
            return _as_2d(_Range(self, ws, text).value)
        value = self.names[text].refers_to_range.value
        return _as_2d(value) if isinstance(value, list) else value

    def evaluate(self, ws: Any, formula: str) -> list[list[Any]]:
        from xlfactor import udfs

        call = _CALL.match(formula)
        if call is None:
            raise ValueError(f"cannot evaluate {formula!r}")
        args = [self.arg(ws, a) for a in split_args(call.group(2))]
        return getattr(udfs, call.group(1))(*args)


def _as_2d(value: Any) -> list[list[Any]]:
    if isinstance(value, list):
        return [v if isinstance(v, list) else [v] for v in value]
    return [[value]]


def spill_values(anchor: _Range, table: list[list[Any]]) -> None:
    """Write a table where Excel would spill it; new cells take their column's format."""
    from copy import copy

    from openpyxl.utils import get_column_letter

    top = anchor.ws[anchor.ref.split(":")[0]]
    for i, row in enumerate(table):
        for j, value in enumerate(row):
            cell = anchor.ws.cell(row=top.row + i, column=top.column + j)
            if not cell.has_style:
                column = anchor.ws.column_dimensions.get(get_column_letter(cell.column))
                if column is not None:
                    cell._style = copy(column._style)
            cell.value = value


def make_preview(template: Path, out: Path) -> Path:
    """A copy of ``template`` as it looks after Refresh on the offline sample."""
    from openpyxl import load_workbook

    os.environ["XLFACTOR_SOURCE"] = "sample"
    from xlfactor import refresh

    wb = load_workbook(template)
    book = _Book(wb)
    for name, value in PREVIEW_INPUTS.items():
        rng = book.names[name].refers_to_range
        if isinstance(value, list):
            for cell, v in zip((row[0] for row in rng._cells()), value + [None] * 10):
                cell.value = v
        else:
            rng.value = value
    outcome = refresh.refresh(book)
    print(f"preview refresh: {outcome.message}")
    out.parent.mkdir(parents=True, exist_ok=True)
    wb.save(out)
    return out


def render(workbook: Path, out_dir: Path, dpi: int) -> list[Path]:
    pdf = to_pdf(workbook, out_dir)
    return [pdf, *to_png(pdf, out_dir, dpi)]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Render the template workbook to PNG pages.")
    parser.add_argument("workbook", nargs="?", type=Path, default=TEMPLATE)
    parser.add_argument("--out", type=Path, default=OUT, help="output folder")
    parser.add_argument("--dpi", type=int, default=80)
    parser.add_argument("--no-preview", action="store_true",
                        help="render only the template, not the refreshed preview")
    args = parser.parse_args(argv)
    files = render(args.workbook, args.out / "template", args.dpi)
    if not args.no_preview:
        preview = make_preview(args.workbook, args.out / "preview" / "xlfactor_preview.xlsx")
        files += render(preview, args.out / "preview", args.dpi)
    print("\n".join(str(p) for p in files))
    return 0


if __name__ == "__main__":
    sys.exit(main())
