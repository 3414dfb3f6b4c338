"""Regressions on data the user already holds: arrays, frames, worksheet ranges.

No dates are needed and nothing is fetched: each column of ``y`` is regressed on ``x`` plus
a constant. Cells arrive as Python objects (numbers, blanks, text); they are checked in
one vectorised pass that names the first bad cell. The frequency, which annualised figures
need, is the caller's ``freq`` or read from dates; otherwise results stay per period.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from xlfactor.domain.errors import InvalidInputError
from xlfactor.domain.frequency import FREQUENCY_WORDS, check_frequency
from xlfactor.engine.model import FactorModel
from xlfactor.engine.results import EstimationInfo, FactorResults


def regress(
    y: object,
    x: object,
    names: Sequence[str] | None = None,
    se: str = "classical",
    lags: int | None = None,
    *,
    use_t: bool | None = None,
    conf_level: float = 0.95,
    small_sample: bool = False,
    freq: str | None = None,
) -> FactorResults:
    """OLS of each column of ``y`` on ``x`` plus a constant: any data, no dates needed.

    Parameters
    ----------
    y : array-like, Series or DataFrame
        One column per dependent variable (each is regressed on its own, in one batch).
    x : array-like, Series or DataFrame
        One column per regressor.
    names : sequence of str, optional
        Regressor labels; default the DataFrame's columns, else ``x1, x2...``.
    se, lags, use_t, conf_level, small_sample
        As in :func:`xlfactor.api.fit`.
    freq : {"D", "W", "M"}, optional
        How often the data are observed, for annualised alpha and volatility. Default:
        inferred from a date index (daily, weekly or monthly spacing); data without
        dates (arrays, worksheet ranges) then have no frequency, their summary says
        "per period" and annualising raises.

    Returns
    -------
    FactorResults
        Rows labelled by ``y``'s columns (``y`` or ``y1, y2...`` for arrays), residuals on
        ``y``'s index. When both ``y`` and ``x`` carry an index they are aligned on it
        (inner join); otherwise they must have the same number of rows. Rows with a missing
        value in ``x`` are dropped for every column; a missing ``y`` value drops the row for
        that column only.

    Raises
    ------
    InvalidInputError
        A cell that is not a number (named by row and column), mismatched shapes, labels,
        an unknown ``freq`` or one the dates contradict.
    """
    dep = _frame(y, "y", "y")
    fac = _frame(x, "X", "x")
    if _has_index(y) and _has_index(x):
        dep, fac = dep.align(fac, join="inner", axis=0)
    elif len(dep) != len(fac):
        raise InvalidInputError(f"y has {len(dep)} rows but X has {len(fac)}")
    else:
        fac.index = dep.index
    if names is not None:
        labels = [str(n) for n in names]
        if len(labels) != fac.shape[1]:
            raise InvalidInputError(f"{len(labels)} labels for {fac.shape[1]} X columns")
        fac.columns = labels
    if len(set(fac.columns)) != fac.shape[1]:
        raise InvalidInputError("labels must be distinct")
    frequency = _frequency(dep.index, freq)
    dated = isinstance(dep.index, pd.DatetimeIndex) and len(dep.index) > 0
    info = EstimationInfo(model="regression", factors=tuple(map(str, fac.columns)),
                          excess=False, frequency=frequency,
                          start=dep.index.min() if dated else None,
                          end=dep.index.max() if dated else None)
    return FactorModel(dep, fac).fit(se, lags, use_t=use_t, conf_level=conf_level, info=info,
                                     small_sample=small_sample)


def _frequency(index: pd.Index, freq: str | None) -> str | None:
    """``freq`` checked against the dates, or the dates' own frequency, or None (unknown)."""
    given = check_frequency(freq) if freq is not None and str(freq).strip() else None
    if not isinstance(index, pd.DatetimeIndex) or not index.is_monotonic_increasing:
        return given
    # fit_returns' rule (median spacing of the dates), so both tell a frequency alike
    from xlfactor.own_returns import _frequency_or_none, _spacing

    found = _frequency_or_none(index)
    if given is not None and found is not None and found != given:
        raise InvalidInputError(
            f"the dates are {FREQUENCY_WORDS[found]} (median spacing {_spacing(index):g} "
            f"days) but freq is {FREQUENCY_WORDS[given]}")
    return given or found


def _has_index(data: object) -> bool:
    return isinstance(data, (pd.Series, pd.DataFrame))


def _frame(data: object, what: str, prefix: str) -> pd.DataFrame:
    """``data`` as a float DataFrame, labels kept; numbers checked in one pass."""
    if isinstance(data, pd.Series):
        data = data.to_frame(data.name if data.name is not None else prefix)
    if isinstance(data, pd.DataFrame):
        values = number_matrix(data.to_numpy(), what)
        return pd.DataFrame(values, index=data.index,
                            columns=[str(c) for c in data.columns.tolist()], copy=False)
    values = number_matrix(data, what)
    if values.shape[1] == 1:
        columns = [prefix]
    else:
        columns = [f"{prefix}{i + 1}" for i in range(values.shape[1])]
    # copy=False: pandas would otherwise copy the whole block, for nothing
    return pd.DataFrame(values, index=pd.RangeIndex(1, values.shape[0] + 1, name="row"),
                        columns=columns, copy=False)


def number_matrix(data: object, what: str) -> np.ndarray:
    """A 2-D float array; blanks and None become NaN. Numeric arrays pass through without a
    per-element loop; other input is checked vectorised, naming the first bad cell."""
    # Lists (cell ranges) keep each cell's own type: numpy would turn True into 1.0.
    arr = np.asarray(data) if isinstance(data, np.ndarray) else np.asarray(data, dtype=object)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.size == 0:
        raise InvalidInputError(f"{what} must be a non-empty column or table of numbers")
    if arr.dtype.kind in "fiu":  # infinities are refused by the model, in its one pass
        return arr.astype(float, copy=False)
    if arr.dtype.kind == "b":
        raise InvalidInputError(f"{what} row 1, column 1: {arr.flat[0]!r} is not a number")
    out = _object_matrix(arr.astype(object, copy=False), what)
    bad = np.isinf(out)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise InvalidInputError(
            f"{what} row {i + 1}, column {j + 1}: missing or non-finite value {float(out[i, j])!r}")
    return out


_NUMBER_TYPES = (int, float, np.integer, np.floating)


def _object_matrix(arr: np.ndarray, what: str) -> np.ndarray:
    flat = arr.ravel()
    kinds = np.fromiter((type(v) for v in flat), dtype=object, count=flat.size)
    blank = np.fromiter((v is None or (type(v) is str and not v.strip()) for v in flat),
                        dtype=bool, count=flat.size)
    numeric = np.fromiter((issubclass(k, _NUMBER_TYPES) and not issubclass(k, (bool, np.bool_))
                           for k in kinds), dtype=bool, count=flat.size)
    bad = ~(blank | numeric)
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        i, j = divmod(pos, arr.shape[1])
        raise InvalidInputError(f"{what} row {i + 1}, column {j + 1}: {flat[pos]!r} is not a number")
    out = np.full(flat.size, np.nan)
    out[numeric] = flat[numeric].astype(float)
    return out.reshape(arr.shape)
