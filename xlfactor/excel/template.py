"""The template workbook as the Refresh buttons see it: its defined names, the slice of
the xlwings object model a refresh uses (the ``*Like`` protocols: xlwings' ``Book``
and, for files, :class:`xlfactor.excel.file_refresh.FileBookModel`), and its Inputs sheet
read and validated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from xlfactor.excel.sheet import error_words

# -- the workbook's defined names (workbook/generate.py creates exactly these) -------------
NAME_TICKERS = "Tickers"
NAME_MODEL = "Model"
NAME_START = "StartDate"
NAME_END = "EndDate"
NAME_FREQ = "Freq"
NAME_SE = "SEType"
NAME_LAGS = "NWLags"
NAME_WINDOW = "Window"
NAME_REGION = "Region"
NAME_WEIGHTS = "Weights"
NAME_REBALANCE = "Rebalance"
NAME_RESULTS = "Results"
INPUT_NAMES = (NAME_TICKERS, NAME_MODEL, NAME_START, NAME_END, NAME_FREQ, NAME_SE, NAME_LAGS,
               NAME_WINDOW, NAME_REGION, NAME_WEIGHTS, NAME_REBALANCE, NAME_RESULTS)
#: Inputs added after the first templates: a workbook without them still refreshes, with
#: the defaults (US factors, no portfolio check, results as the platform allows).
OPTIONAL_INPUTS = (NAME_REGION, NAME_WEIGHTS, NAME_REBALANCE, NAME_RESULTS)

#: How results reach the sheets: Excel recalculates the FACTOR_* formulas, or Refresh
#: computes them in Python and writes the values (Mac; no trusted VBA bridge).
RESULTS_MODES = ("auto", "formulas", "values")

NAME_LAST_REFRESHED = "LastRefreshed"
NAME_RELEASE = "DataRelease"
NAME_SOURCES = "DataSources"
NAME_STATUS = "RefreshStatus"
STAMP_NAMES = (NAME_LAST_REFRESHED, NAME_RELEASE, NAME_SOURCES, NAME_STATUS)

#: Names starting with this mark the anchor cell of a FACTOR_* formula.
OUTPUT_PREFIX = "Out_"
#: The Analysis sheet's FACTOR_COMPARE anchor: Refresh fetches that comparison's factors.
NAME_OUT_COMPARE = "Out_Compare"

#: Default rolling window, as in FACTOR_ROLLING, so the chart matches the sheet.
DEFAULT_WINDOW = 252



@dataclass(frozen=True)
class ChartSpot:
    """Where a chart goes: the defined name of its top-left cell, and the picture's name."""

    anchor: str
    picture: str


CHART_EXPOSURES = ChartSpot("Chart_Betas", "xlfactor_exposures")
CHART_ROLLING = ChartSpot("Chart_Rolling", "xlfactor_rolling")
CHART_FACTORS = ChartSpot("Chart_Factors", "xlfactor_factors")
CHART_ATTRIBUTION = ChartSpot("Chart_Attribution", "xlfactor_attribution")
CHART_SPOTS = (CHART_EXPOSURES, CHART_ROLLING, CHART_FACTORS, CHART_ATTRIBUTION)


# -- the slice of the xlwings object model used here --------------------------------------
class PicturesLike(Protocol):
    def add(self, image: Any, **kwargs: Any) -> Any: ...


class SheetLike(Protocol):
    @property
    def pictures(self) -> PicturesLike: ...


class RangeLike(Protocol):
    value: Any
    formula2: Any

    @property
    def sheet(self) -> SheetLike: ...


class NameLike(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def refers_to_range(self) -> RangeLike: ...


class NamesLike(Protocol):
    def __getitem__(self, key: str) -> NameLike: ...

    def __iter__(self) -> Any: ...


class AppLike(Protocol):
    status_bar: str | bool

    def calculate(self) -> None: ...


class BookLike(Protocol):
    @property
    def app(self) -> AppLike: ...

    @property
    def names(self) -> NamesLike: ...


# -- inputs -------------------------------------------------------------------
@dataclass(frozen=True)
class SheetInputs:
    """The Inputs sheet, validated."""

    tickers: list[str]
    model: str | None
    start: Any
    end: Any
    freq: str
    se: str
    lags: int | None
    window: int
    region: str = "US"
    weights: Any = None
    rebalance: str | None = None

    @property
    def first_ticker(self) -> str:
        """The asset that the Stats, Rolling and Analysis sheets show (``INDEX(Tickers, 1)``)."""
        return self.tickers[0]


def read_inputs(book: BookLike) -> SheetInputs:
    """Read and validate the named input cells (the same rules as the worksheet functions).

    The weights and the rebalancing rule are kept as read: only the Analysis sheet's
    portfolio uses them, and :func:`portfolio_warnings` reports their problems without
    stopping the refresh.
    """
    from xlfactor.domain.errors import InvalidInputError
    from xlfactor.domain.regions import canonical_region
    from xlfactor.domain.tickers import normalize_tickers
    from xlfactor.excel import sheet

    present = present_names(book)

    def cell(name: str) -> Any:
        if name in OPTIONAL_INPUTS and name not in present:
            return None
        try:
            return book.names[name].refers_to_range.value
        except InvalidInputError:
            raise
        except Exception as err:  # noqa: BLE001 - missing, or a constant, not a range
            raise InvalidInputError(f"the input {name} is not a range of cells in this "
                                    f"workbook ({error_words(err)})") from err

    raw_tickers = cell(NAME_TICKERS)
    sheet.reject_error_values(raw_tickers, "tickers")
    window = sheet.int_arg(cell(NAME_WINDOW), DEFAULT_WINDOW, "window", minimum=3)
    return SheetInputs(
        tickers=normalize_tickers(raw_tickers),
        model=sheet.text_arg(cell(NAME_MODEL), "model"),
        start=sheet.date_arg(cell(NAME_START), "start"),
        end=sheet.date_arg(cell(NAME_END), "end"),
        freq=sheet.text_arg(cell(NAME_FREQ), "freq") or "D",
        se=sheet.text_arg(cell(NAME_SE), "se_type") or "classical",
        lags=sheet.int_arg(cell(NAME_LAGS), None, "lags", minimum=1),
        window=DEFAULT_WINDOW if window is None else window,
        region=canonical_region(sheet.text_arg(cell(NAME_REGION), "region")),
        weights=cell(NAME_WEIGHTS),
        rebalance=cell(NAME_REBALANCE),
    )


def write_name(book: BookLike, name: str, value: Any) -> None:
    """Write one value to a named cell; text can never turn into a formula."""
    from xlfactor.excel.export import neutralize

    book.names[name].refers_to_range.value = neutralize(value)


def defined_names(book: BookLike) -> list[NameLike]:
    """The workbook's defined names."""
    return list(book.names)


def present_names(book: BookLike) -> set[str]:
    """The workbook's defined names, without the sheet part of sheet-level ones."""
    return {n.name.rsplit("!", 1)[-1] for n in defined_names(book)}
