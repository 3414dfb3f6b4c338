"""``xlfactor refresh BOOK.xlsm``: a values copy of a workbook, without Excel.

The Refresh button's own steps (:func:`xlfactor.excel.refresh.refresh`: read the inputs, fetch,
compute, draw the charts, stamp the time and data release) run against the file through
:class:`FileBookModel`, a small stand-in for the slice of the xlwings object model those
steps use; computing is values mode (:func:`xlfactor.excel.values.compute`). A workbook
that is not the template (no ``Tickers`` name) just gets its ``FACTOR_*`` formulas
computed. The copy is saved beside the original (``BOOK-values.xlsx``) by default; the
original is only read.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import tempfile
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

from xlfactor.excel.books import FileBook, split_address
from xlfactor.excel.values import (
    Computed,
    Report,
    area,
    compute,
    factor_formulas,
    in_the_way,
    prefetch_for,
    spill_message,
    xlwings_shape,
)


def default_output(path: Path) -> Path:
    """``BOOK.xlsm`` -> ``BOOK-values.xlsx`` beside it."""
    return path.with_name(f"{path.stem}-values.xlsx")


def refresh_file(path: str | Path, output: str | Path | None = None) -> Report:
    """Write a values copy of the workbook ``path``.

    Parameters
    ----------
    path : path-like
        An ``.xlsx`` or ``.xlsm`` workbook; only read.
    output : path-like, optional
        Where the copy goes, an ``.xlsx`` (macros are not copied); default
        :func:`default_output`. It may not be ``path`` itself.

    Returns
    -------
    Report
        The computed tables, the output path, and warnings (including the refresh
        status line when the workbook is the template).

    Raises
    ------
    InvalidInputError
        A missing or unreadable workbook, or an output that would replace it.
    """
    from xlfactor.domain.errors import InvalidInputError

    source = Path(path)
    if not source.is_file():
        raise InvalidInputError(f"workbook not found: {source}")
    target = Path(output) if output is not None else default_output(source)
    if target.suffix.lower() != ".xlsx":
        raise InvalidInputError(f"the values copy is an .xlsx file, not {target.name}")
    if target.resolve() == source.resolve():
        raise InvalidInputError("the values copy must not replace the original workbook")
    try:
        book = FileBook(source)
    except Exception as err:
        raise InvalidInputError(f"cannot read {source.name} as a workbook: {err}") from err
    report = Report(output=target)
    model = FileBookModel(book, report)
    if model.is_template():
        from xlfactor.excel import refresh

        outcome = refresh.refresh(model, values=model.compute_and_write)
        report.warnings.append(outcome.message)
    else:
        model.compute_and_write(model)
    save_atomically(book.workbook, target)
    return report


def save_atomically(workbook: Any, target: Path) -> None:
    """Save beside the target, then rename: a crash never leaves half a file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}-", suffix=".xlsx", dir=target.parent)
    os.close(fd)
    try:
        with _round_trip_floats():
            workbook.save(tmp)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def _round_trip_floats() -> Iterator[None]:
    """openpyxl writes numbers with 16 significant digits ("%.16g"), which changes the
    last digit of about half of all doubles; Excel itself writes the 17 digits that read
    back to the same double. For the save, cell values are written with ``repr``, the
    shortest text that reads back exactly."""
    from openpyxl.cell import _writer

    original = _writer.safe_string

    def exact(value: Any) -> str:
        if isinstance(value, float) and math.isfinite(value):
            return repr(value)
        return original(value)

    _writer.safe_string = exact
    try:
        yield
    finally:
        _writer.safe_string = original


def write_table(ws: Any, done: Computed) -> Computed:
    """The table at its anchor, after clearing what an older result left in its range;
    ``#SPILL!`` instead when other data are in the way, as Excel would show."""
    top, left, bottom, right = split_address(area(done.cell, done.shape))
    current = [[ws.cell(row=r, column=c).value for c in range(left, right + 1)]
               for r in range(top, bottom + 1)]
    if in_the_way(current, done, done.cell.spill):
        done = Computed(done.cell, spill_message(area(done.cell, done.shape)))
    if done.cell.spill:
        a, b, c, d = split_address(done.cell.spill)
        for r in range(a, c + 1):
            for col in range(b, d + 1):
                ws.cell(row=r, column=col).value = None
    for i, row in enumerate(done.table):
        for j, value in enumerate(row):
            target = ws.cell(row=top + i, column=left + j)
            target.value = value
            if isinstance(value, str) and value.startswith("="):
                target.data_type = "s"  # text, not a formula (openpyxl's only formula mark)
            if isinstance(value, (datetime, date)) and not target.is_date:
                target.number_format = "yyyy-mm-dd"
    return done


# -- the object model refresh.refresh uses, over a file ------------------------------------
class FileBookModel:
    """``book.names[...]``, ``.refers_to_range.value``, ``.sheet.pictures.add``, ``book.app``
    over a :class:`FileBook`, as :mod:`xlfactor.excel.refresh` reads and writes them."""

    def __init__(self, book: FileBook, report: Report) -> None:
        from xlfactor.excel.evaluate import Evaluator
        from xlfactor.excel.values import worksheet_functions

        book.attach(Evaluator(book, worksheet_functions()))  # inputs may be formulas
        self.file = book
        self.report = report
        self.app = _App()
        self.names = _Names(self)

    def is_template(self) -> bool:
        from xlfactor.excel.refresh import NAME_TICKERS

        return self.file.defined_name(NAME_TICKERS, self.file.workbook.sheetnames[0]) is not None

    def compute_and_write(self, _book: Any = None) -> list[str]:
        """Values mode for the file: compute every formula, write each table."""
        cells = factor_formulas(self.file)  # one scan serves the prefetch and the compute
        prefetch_for(self.file, cells, self.report)
        self.report.computed = compute(self.file, cells)
        for done in self.report.computed:
            write_table(self.file.workbook[done.cell.sheet], done)
        return self.report.errors


class _App:
    status_bar: Any = False

    def calculate(self) -> None:  # nothing to do: values were written
        pass


class _Names:
    def __init__(self, model: FileBookModel) -> None:
        self.model = model

    def __iter__(self):
        return iter(_Name(self.model, n) for n in self.model.file.workbook.defined_names)

    def __getitem__(self, name: str) -> _Name:
        if name not in self.model.file.workbook.defined_names:
            raise KeyError(name)
        return _Name(self.model, name)


class _Name:
    def __init__(self, model: FileBookModel, name: str) -> None:
        self.model = model
        self.name = name

    @property
    def refers_to_range(self) -> _Range:
        from xlfactor.excel.formula import Ref, parse

        text = self.model.file.workbook.defined_names[self.name].attr_text
        node = parse(text)
        if not isinstance(node, Ref) or node.sheet is None:
            raise KeyError(f"{self.name} does not refer to a range")
        return _Range(self.model, node.sheet, node.address)


class _Range:
    def __init__(self, model: FileBookModel, sheet: str, address: str) -> None:
        self.model = model
        self.sheet_name = sheet
        self.address = address

    @property
    def value(self) -> Any:
        return xlwings_shape(self.model.file.cells(self.sheet_name, self.address))

    @value.setter
    def value(self, value: Any) -> None:
        top, left, _, _ = split_address(self.address)
        self.model.file.workbook[self.sheet_name].cell(row=top, column=left).value = value
        self.model.file.put(self.sheet_name, top, left, value)

    @property
    def formula2(self) -> Any:
        return None

    @property
    def sheet(self) -> _Sheet:
        return _Sheet(self.model, self.sheet_name)


class _Sheet:
    def __init__(self, model: FileBookModel, name: str) -> None:
        self.model = model
        self.name = name

    @property
    def pictures(self) -> _Pictures:
        return _Pictures(self.model.file.workbook[self.name])


class _Pictures:
    def __init__(self, ws: Any) -> None:
        self.ws = ws

    def add(self, image: Any, *, name: str = "", update: bool = False, anchor: Any = None,
            **_: Any) -> Any:
        """A matplotlib figure or a PNG path, placed with its top-left corner at ``anchor``."""
        from openpyxl.drawing.image import Image
        from PIL import Image as PILImage

        if hasattr(image, "savefig"):
            buffer = io.BytesIO()
            # What xlwings does with a figure (a tight box); at 96 dpi the pixel size that
            # openpyxl records is the physical size Excel would show.
            image.savefig(buffer, format="png", dpi=96, bbox_inches="tight")
            data = buffer.getvalue()
        else:
            data = Path(image).read_bytes()
        dpi = PILImage.open(io.BytesIO(data)).info.get("dpi", (96, 96))[0] or 96
        picture = Image(io.BytesIO(data))
        picture.width = round(picture.width * 96 / dpi)
        picture.height = round(picture.height * 96 / dpi)
        top = anchor.address.split(":")[0] if anchor is not None else "A1"
        self.ws.add_image(picture, top)
        return picture
