"""The labelled rows and columns of the worksheet functions' tables, as typed specs.

Some tables label each row with what its value is (FACTOR_STATS, FACTOR_GRS, the
statistics under FACTOR_REGRESS) or have a fixed set of rows around one row per factor
(FACTOR_ATTRIBUTION). A sheet that shows them formats by those labels and reserves room
for those rows, so the labels, the kind of each value and the row counts are stated here.
:mod:`xlfactor.excel.cells` lays out FACTOR_REGRESS's statistics and the coefficient and
attribution headers with them; the fit statistics, the GRS rows and the attribution row
labels are produced by the engine and mirrored here. The template generator
(``workbook/template_builder/``) takes its number formats and block sizes from these
specs, and ``tests/test_workbook.py`` checks them against the rows the functions really
produce, so a renamed row fails a test instead of losing its format.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from xlfactor.domain.models import FACTORS


class ValueKind(Enum):
    """What a value is; a sheet chooses how to show each kind."""

    ESTIMATE = "estimate"  # a coefficient-scale decimal: estimates, standard errors
    FRACTION = "fraction"  # between 0 and 1: R-squared
    STATISTIC = "statistic"  # a test statistic: t, F, Durbin-Watson
    PROBABILITY = "probability"  # a p-value
    COUNT = "count"  # a whole number: observations, degrees of freedom
    RATE = "rate"  # a return or volatility, shown in percent
    SHARE = "share"  # a part of a whole, shown in percent
    CRITERION = "criterion"  # an information criterion (AIC, BIC): large, few decimals
    TEXT = "text"  # words or a date written as text: no number format


@dataclass(frozen=True)
class ColumnSpec:
    """One column of a table: its header and the kind of value below it."""

    header: str
    kind: ValueKind


@dataclass(frozen=True)
class RowSpec:
    """One labelled row: the label in the first column, then a value of ``kind``.

    Attributes
    ----------
    label : str
        The row's label, or only its start when ``prefix`` is true.
    kind : ValueKind
        What the value next to the label is.
    prefix : bool
        The label goes on after ``label`` with words that vary, such as the periods per
        year in "Alpha, annualised (x12)".
    """

    label: str
    kind: ValueKind
    prefix: bool = False

    def matches(self, label: object) -> bool:
        """Whether ``label`` is this row's label.

        Compared without regard to case, as Excel's ``=`` compares text: a sheet rule
        keyed on the label matches exactly the labels this says match.
        """
        text = str(label).casefold()
        own = self.label.casefold()
        return text.startswith(own) if self.prefix else text == own


def find_row(specs: Sequence[RowSpec], label: object) -> RowSpec | None:
    """The spec in ``specs`` that ``label`` belongs to, or None.

    A label given in full wins over a prefix, so a prefix never claims a named row.
    """
    exact = [s for s in specs if not s.prefix and s.matches(label)]
    starts = [s for s in specs if s.prefix and s.matches(label)]
    return (exact or starts or [None])[0]


@dataclass(frozen=True)
class FactorRowsLayout:
    """A table with fixed rows around one row per factor of the model.

    Attributes
    ----------
    columns : tuple of ColumnSpec
        The header row, the label column first.
    leading, trailing : tuple of str
        Row labels before and after the factor rows, in order.
    total_start : str
        How the labels of the rows a sheet sets off as totals start.
    """

    columns: tuple[ColumnSpec, ...]
    leading: tuple[str, ...]
    trailing: tuple[str, ...]
    total_start: str

    @property
    def headers(self) -> list[str]:
        """The header row's texts."""
        return [c.header for c in self.columns]

    def labels(self, factors: Sequence[str]) -> list[str]:
        """The row labels, in order, for a model with ``factors``."""
        return [*self.leading, *factors, *self.trailing]

    def row_count(self, n_factors: int) -> int:
        """Rows below the header for a model with ``n_factors`` factors."""
        return len(self.leading) + n_factors + len(self.trailing)

    @property
    def most_rows(self) -> int:
        """Rows below the header for the largest model: every factor there is."""
        return self.row_count(len(FACTORS))

    def is_total(self, label: object) -> bool:
        """Whether ``label`` is a row a sheet sets off as a total (case-insensitive, as Excel)."""
        return str(label).casefold().startswith(self.total_start.casefold())


#: The coefficient table of FACTOR_STATS and FACTOR_REGRESS; ``{level}`` is the
#: confidence level of the intervals, such as 95%.
COEFFICIENT_COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec("Coefficient", ValueKind.TEXT),
    ColumnSpec("Estimate", ValueKind.ESTIMATE),
    ColumnSpec("Std. error", ValueKind.ESTIMATE),
    ColumnSpec("t", ValueKind.STATISTIC),
    ColumnSpec("p", ValueKind.PROBABILITY),
    ColumnSpec("CI {level} low", ValueKind.ESTIMATE),
    ColumnSpec("CI {level} high", ValueKind.ESTIMATE),
)


def coefficient_header(conf_level: float) -> list[str]:
    """The coefficient table's header row for intervals at ``conf_level`` (0.95: "95%")."""
    level = f"{conf_level:.0%}"
    return [c.header.format(level=level) for c in COEFFICIENT_COLUMNS]


#: The fit statistics that end FACTOR_STATS, in order (from
#: :meth:`xlfactor.engine.results.FactorResults.asset_stats`).
STATS_FIT_ROWS: tuple[RowSpec, ...] = (
    RowSpec("R-squared", ValueKind.FRACTION),
    RowSpec("Adj. R-squared", ValueKind.FRACTION),
    RowSpec("F-statistic", ValueKind.STATISTIC),
    RowSpec("Prob (F)", ValueKind.PROBABILITY),
    RowSpec("Observations", ValueKind.COUNT),
    RowSpec("Alpha,", ValueKind.RATE, prefix=True),  # "Alpha, annualised (x252)"
    RowSpec("Residual vol, annualised", ValueKind.RATE),
    RowSpec("Durbin-Watson", ValueKind.STATISTIC),
    RowSpec("AIC", ValueKind.CRITERION),
    RowSpec("BIC", ValueKind.CRITERION),
    RowSpec("First date", ValueKind.TEXT),
    RowSpec("Last date", ValueKind.TEXT),
)

#: The statistics under FACTOR_REGRESS's coefficients, in order.
REGRESS_FIT_ROWS: tuple[RowSpec, ...] = (
    RowSpec("R²", ValueKind.FRACTION),
    RowSpec("Adj. R²", ValueKind.FRACTION),
    RowSpec("F", ValueKind.STATISTIC),
    RowSpec("Prob (F)", ValueKind.PROBABILITY),
    RowSpec("N", ValueKind.COUNT),
    RowSpec("Std. error of regression", ValueKind.ESTIMATE),
    RowSpec("Std. errors", ValueKind.TEXT),
)

#: FACTOR_GRS's first rows, always these, in this order (from
#: :meth:`xlfactor.analysis.JointAlphaTest.table`); text rows follow.
GRS_ROWS: tuple[RowSpec, ...] = (
    RowSpec("GRS F-statistic", ValueKind.STATISTIC),
    RowSpec("p-value", ValueKind.PROBABILITY),
    RowSpec("df numerator (N assets)", ValueKind.COUNT),
    RowSpec("df denominator (T-N-K)", ValueKind.COUNT),
    RowSpec("Observations (T)", ValueKind.COUNT),
    RowSpec("Factors (K)", ValueKind.COUNT),
    RowSpec("Squared Sharpe, factors", ValueKind.ESTIMATE),
    RowSpec("Squared Sharpe, factors + assets", ValueKind.ESTIMATE),
)

#: FACTOR_ATTRIBUTION's "table" output (rows from
#: :func:`xlfactor.engine.attribution.attribution_table`).
ATTRIBUTION = FactorRowsLayout(
    columns=(
        ColumnSpec("Part", ValueKind.TEXT),
        ColumnSpec("Over the period", ValueKind.RATE),
        ColumnSpec("Annualised", ValueKind.RATE),
        ColumnSpec("Share of total", ValueKind.SHARE),
    ),
    leading=("alpha",),
    trailing=("residual", "sum of parts", "total (arithmetic)", "compounding",
              "total (compounded)"),
    total_start="total",
)


__all__ = [
    "ATTRIBUTION",
    "COEFFICIENT_COLUMNS",
    "GRS_ROWS",
    "REGRESS_FIT_ROWS",
    "STATS_FIT_ROWS",
    "ColumnSpec",
    "FactorRowsLayout",
    "RowSpec",
    "ValueKind",
    "coefficient_header",
    "find_row",
]
