"""``xlfactor refresh BOOK.xlsm``: a values copy of a workbook, without Excel.

The Refresh button's own steps (:func:`xlfactor.excel.refresh.refresh`: read the inputs, fetch,
compute, draw the charts, stamp the time and data release) run against the file through
:class:`FileBookModel`, a small stand-in for the slice of the xlwings object model those
steps use; computing is values mode (:func:`xlfactor.excel.values.compute`). A workbook
that is not the template (no ``Tickers`` name) just gets its ``FACTOR_*`` formulas
computed. The copy is saved beside the original (``BOOK-values.xlsx``) by default; the
original is only read.

A values copy never holds a ``FACTOR_*`` formula: a colleague without Python would see
``#NAME?``. Each anchor gets its table, or the error text that says why not (a formula
the refresh stopped before computing gets :data:`~xlfactor.excel.values.NOT_COMPUTED`).
Dates are written as dates, with a date format that fits their column.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import secrets
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from xlfactor.excel.books import (
    FileBook,
    calls_worksheet_function,
    split_address,
    stored_cells,
    stored_value,
)
from xlfactor.excel.registry import range_value
from xlfactor.excel.values import (
    NOT_COMPUTED,
    Computed,
    Report,
    area,
    compute,
    factor_formulas,
    in_the_way,
    spill_message,
)

#: How a date without a time of day is shown, and one with a time (10 and 16 characters).
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"


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
        The tables as written, the output path, the formulas not computed, warnings
        (including the refresh status line when the workbook is the template) and, for the
        template, the refresh's :class:`~xlfactor.excel.refresh.Outcome`.

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
    reason = "the refresh stopped before this formula"
    if model.is_template():
        from xlfactor.excel import refresh

        outcome = refresh.refresh(model, values=model.compute_and_write)
        report.outcome = outcome
        report.warnings.append(outcome.message)
        reason = outcome.message
    if not model.ran:
        # The refresh stopped before computing (bad Inputs, no data): each formula still
        # gets its own answer, or its own reason, rather than staying a formula.
        try:
            model.compute_and_write()
        except Exception as err:  # noqa: BLE001 - the formulas are sealed below
            report.warnings.append(f"FACTOR_* formulas not computed: {err}")
    report.not_computed = seal_formulas(book.workbook, reason)
    save_atomically(book.workbook, target)
    return report


def seal_formulas(workbook: Any, reason: str) -> list[str]:
    """Replace every ``FACTOR_*`` formula still in ``workbook`` by a marked error text.

    Returns
    -------
    list of str
        ``Sheet!A1: text`` for each formula replaced.
    """
    from openpyxl.worksheet.formula import ArrayFormula

    from xlfactor.excel.sheet import MAX_MESSAGE

    text = (NOT_COMPUTED + reason)[:MAX_MESSAGE]
    sealed = []
    for ws in workbook.worksheets:
        for cell in list(stored_cells(ws).values()):
            value = cell.value
            formula = value.text if isinstance(value, ArrayFormula) else value
            if cell.data_type == "f" and calls_worksheet_function(str(formula or "")):
                cell.value = text
                sealed.append(f"{ws.title}!{cell.coordinate}: {text}")
    return sealed


def save_atomically(workbook: Any, target: Path) -> None:
    """Save beside the target, then rename: a crash never leaves half a file. The file
    gets the mode any file the user creates gets (0666 less the umask), as the temporary
    file is created with those permissions rather than mkstemp's private 0600."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _new_file(target)
    try:
        with _round_trip_floats():
            workbook.save(tmp)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _new_file(target: Path) -> Path:
    """A new, empty file beside ``target``, created exclusively with mode 0666 & ~umask."""
    for _ in range(100):
        path = target.with_name(f".{target.stem}-{secrets.token_hex(6)}.xlsx")
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            continue
        return path
    raise FileExistsError(f"no free temporary name beside {target}")


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
    ``#SPILL!`` instead when other data are in the way, as Excel would show. Returns the
    table as written."""
    top, left, bottom, right = split_address(area(done.cell, done.shape))
    current = [[stored_value(ws, r, c) for c in range(left, right + 1)]
               for r in range(top, bottom + 1)]
    if in_the_way(current, done, done.cell.spill):
        done = Computed(done.cell, spill_message(area(done.cell, done.shape)))
    if done.cell.spill:
        _clear(ws, done.cell.spill)
    for i, row in enumerate(done.table):
        for j, value in enumerate(row):
            target = ws.cell(row=top + i, column=left + j)
            write_value(target, value)
    return done


def _clear(ws: Any, address: str) -> None:
    """Empty the cells the sheet holds in ``address``; creates none (a saved array range
    may be as large as the sheet)."""
    a, b, c, d = split_address(address)
    for (r, col), cell in list(stored_cells(ws).items()):
        if a <= r <= c and b <= col <= d:
            cell.value = None


def write_value(target: Any, value: Any) -> None:
    """One value into an openpyxl cell: text stays text, a date is a date.

    A date (a datetime at midnight, as the tables hold dates) is written as a date with
    :data:`DATE_FORMAT` unless the cell already has a date format without a time of day
    (the template's ``yyyy-mm``); a datetime with a time gets :data:`DATETIME_FORMAT`
    unless the cell has a date format. The column is widened if the date would not fit
    (Excel shows ``###`` then).
    """
    from openpyxl.styles.numbers import is_date_format

    if isinstance(value, datetime) and value.time() == time(0) and value.tzinfo is None:
        value = value.date()
    target.value = value
    if isinstance(value, str) and value.startswith("="):
        target.data_type = "s"  # text, not a formula (openpyxl's only formula mark)
    elif isinstance(value, (datetime, date)):
        current = target.number_format
        timed = isinstance(value, datetime)
        if not is_date_format(current) or (not timed and _shows_time(current)):
            target.number_format = DATETIME_FORMAT if timed else DATE_FORMAT
        _fit_column(target, target.number_format)


def _shows_time(number_format: str) -> bool:
    plain = number_format.split(";")[0].lower()
    return "h" in plain or "s" in plain


def _shown_width(number_format: str) -> float:
    """Width a date in ``number_format`` needs, in Excel's unit (one digit): each date
    or time letter shows a digit, separators are narrower (0.6), plus a margin of 1.5."""
    plain = number_format.split(";")[0].replace("\\", "").replace('"', "")
    digits = sum(ch in "ymdhs" for ch in plain.lower())
    return digits + 0.6 * (len(plain) - digits) + 1.5


def _fit_column(target: Any, number_format: str) -> None:
    """Widen the cell's column when a date in ``number_format`` would not fit (Excel and
    LibreOffice show ``###`` then)."""
    from openpyxl.utils import get_column_letter

    ws = target.parent
    dimension = ws.column_dimensions[get_column_letter(target.column)]
    needed = _shown_width(number_format)
    width = dimension.width if dimension.customWidth else 8.43  # Excel's default width
    if width < needed:
        dimension.width = needed


# -- the object model refresh.refresh uses, over a file ------------------------------------
class FileBookModel:
    """``book.names[...]``, ``.refers_to_range.value``, ``.sheet.pictures.add``, ``book.app``
    over a :class:`FileBook`, as :mod:`xlfactor.excel.refresh` reads and writes them."""

    def __init__(self, book: FileBook, report: Report) -> None:
        from xlfactor.excel.calls import evaluator_of

        evaluator_of(book)  # inputs may be formulas
        self.file = book
        self.report = report
        self.app = _App()
        self.names = _Names(self)
        self.ran = False  # whether the FACTOR_* formulas were computed

    def is_template(self) -> bool:
        from xlfactor.excel.refresh import NAME_TICKERS

        return self.file.defined_name(NAME_TICKERS, self.file.workbook.sheetnames[0]) is not None

    def compute_and_write(self, _book: Any = None) -> Report:
        """Values mode for the file: compute every formula, write each table; returns the
        report of the tables as written."""
        self.ran = True
        cells = factor_formulas(self.file)  # one scan serves the prefetch and the compute
        from xlfactor.excel.prefetch import prefetch_for

        prefetch_for(self.file, cells, self.report)
        self.report.computed = [write_table(self.file.workbook[done.cell.sheet], done)
                                for done in compute(self.file, cells)]
        return self.report


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

        from xlfactor.domain.errors import InvalidInputError

        text = self.model.file.workbook.defined_names[self.name].attr_text
        try:
            node = parse(text)
        except ValueError:
            node = None
        if not isinstance(node, Ref) or node.sheet is None:
            raise InvalidInputError(f"the name {self.name} does not refer to a range of "
                                    f"cells (it is ={text})")
        return _Range(self.model, node.sheet, node.address)


class _Range:
    def __init__(self, model: FileBookModel, sheet: str, address: str) -> None:
        self.model = model
        self.sheet_name = sheet
        self.address = address

    @property
    def value(self) -> Any:
        return range_value(self.model.file.cells(self.sheet_name, self.address))

    @value.setter
    def value(self, value: Any) -> None:
        top, left, _, _ = split_address(self.address)
        write_value(self.model.file.workbook[self.sheet_name].cell(row=top, column=left), value)
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
