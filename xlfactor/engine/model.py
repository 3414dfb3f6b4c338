"""The factor model: dependent returns regressed on factor returns with an intercept (alpha).

Assets may have different histories. Each asset uses the dates where it and every factor
are observed; assets sharing exactly the same dates are estimated together in one batched
solve, so a universe with a common calendar costs one decomposition.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import replace

import numpy as np
import pandas as pd

from xlfactor.domain.errors import InsufficientDataError, InvalidInputError, XlFactorError
from xlfactor.engine.ols import OLSArrays, canonical_cov_type, ols
from xlfactor.engine.results import EstimationInfo, FactorResults


def _as_frame(data: pd.DataFrame | pd.Series, what: str) -> pd.DataFrame:
    if isinstance(data, pd.Series):
        return data.to_frame(data.name if data.name is not None else "y")
    if not isinstance(data, pd.DataFrame):
        raise InvalidInputError(f"{what} must be a pandas DataFrame or Series")
    return data


def _group_by_sample(valid: np.ndarray) -> list[list[int]]:
    """Column indices grouped by identical row masks (one group when all are alike)."""
    if valid.shape[1] == 0:
        return []
    if (valid == valid[:, :1]).all():
        return [list(range(valid.shape[1]))]
    packed = np.packbits(valid, axis=0).T  # one byte string per column
    _, first, inverse = np.unique(packed, axis=0, return_index=True, return_inverse=True)
    order = np.argsort(first)  # groups in order of their first asset
    return [np.flatnonzero(inverse.ravel() == g).tolist() for g in order]


def _refuse_infinity(Y: np.ndarray, F: np.ndarray, index: pd.Index, assets: pd.Index,
                     factors: pd.Index) -> None:
    """NaN marks a missing value; an infinity is an error in the data, never dropped."""
    for values, names, what in ((Y, assets, "returns"), (F, factors, "factor")):
        bad = np.isinf(values)
        if bad.any():
            i, j = np.argwhere(bad)[0]
            where = f"{index[i]:%Y-%m-%d}" if isinstance(index, pd.DatetimeIndex) else \
                f"row {index[i]}"
            raise InvalidInputError(f"{what} {names[j]!r} at {where}: non-finite value "
                                    f"{float(values[i, j])!r}")


class FactorModel:
    """Time-series factor regression r_i,t = alpha_i + sum_f beta_i,f F_f,t + e_i,t.

    Parameters
    ----------
    dependent : DataFrame or Series
        Asset returns, dates x assets, decimals per period (usually excess over RF).
    factors : DataFrame
        Factor returns on the same kind of index, decimals per period, one column per
        factor in the order the coefficients should appear.
    min_obs : int, optional
        Fewest observations accepted per asset; the floor (and default) is k + 2 where k
        counts alpha and the factors.
    check_finite : bool
        Look for missing and non-finite values (False: the caller knows there are none,
        which saves a pass over the data).
    """

    def __init__(
        self,
        dependent: pd.DataFrame | pd.Series,
        factors: pd.DataFrame,
        *,
        min_obs: int | None = None,
        check_finite: bool = True,
    ) -> None:
        self.dependent = _as_frame(dependent, "dependent")
        self.factors = _as_frame(factors, "factors")
        for frame, what in ((self.dependent, "series"), (self.factors, "factors")):
            doubled = frame.columns[frame.columns.duplicated()]
            if len(doubled):  # results are labelled by name: two columns would mix up
                raise InvalidInputError(f"two {what} are named {str(doubled[0])!r}")
        if self.factors.shape[1] == 0:
            raise InvalidInputError("no factors given")
        k = self.factors.shape[1] + 1
        self.min_obs = max(k + 2, int(min_obs) if min_obs is not None else 0)
        self.check_finite = check_finite
        if self.dependent.index.equals(self.factors.index):
            self._index = self.dependent.index
        else:
            self._index = self.dependent.index.intersection(self.factors.index, sort=False)

    @property
    def coef_names(self) -> list[str]:
        return ["alpha", *map(str, self.factors.columns)]

    def _arrays(self) -> tuple[pd.Index, np.ndarray, np.ndarray]:
        index = self._index
        dep, fac = self.dependent, self.factors
        if not index.equals(dep.index):
            dep = dep.loc[index]
        if not index.equals(fac.index):
            fac = fac.loc[index]
        return index, dep.to_numpy(dtype=float), fac.to_numpy(dtype=float)

    def fit(
        self,
        cov_type: str = "classical",
        lags: int | None = None,
        *,
        use_t: bool | None = None,
        conf_level: float = 0.95,
        info: EstimationInfo | None = None,
        small_sample: bool = False,
    ) -> FactorResults:
        """Estimate every asset.

        Parameters
        ----------
        cov_type : {"classical", "HC0", "HC1", "HC2", "HC3", "HAC"}
        lags : int, optional
            Newey-West lags for HAC; default floor(4 (T/100)^(2/9)) per asset sample.
        use_t : bool, optional
            t (True) or normal (False) inference; default follows statsmodels.
        conf_level : float
            Level of the confidence intervals.
        info : EstimationInfo, optional
            Labels carried into the results (model name, frequency, sources, ...).
            Without one the frequency is not known: the results are per period and
            refuse to annualise.
        small_sample : bool
            Stata's n / (n - k) factor on HAC and HC0 covariances, with t inference (see
            :func:`xlfactor.engine.ols.ols`).

        Raises
        ------
        XlFactorError
            When no asset can be estimated; the first asset's error is raised. When only
            some fail, they are listed in ``FactorResults.failed``.
        """
        cov_type = canonical_cov_type(cov_type)
        index, Y, F = self._arrays()
        self._columns = self.dependent.columns.tolist()  # tolist: no per-label Python loop
        finite_f = np.isfinite(F).all(axis=1)
        assets = self._columns
        fits: dict[Hashable, tuple[OLSArrays, int, np.ndarray]] = {}
        failed: dict[Hashable, XlFactorError] = {}
        # The usual case, everything finite, is told by one sum (NaN or inf anywhere makes
        # it non-finite; an overflow merely sends us down the exact path): no T x N mask.
        if finite_f.all() and (not self.check_finite or np.isfinite(Y.sum())):
            groups = [(list(range(Y.shape[1])), finite_f)]
        else:
            finite_y = np.isfinite(Y)
            _refuse_infinity(Y, F, index, self.dependent.columns, self.factors.columns)
            valid = finite_y & finite_f[:, None]
            groups = [(cols, valid[:, cols[0]]) for cols in _group_by_sample(valid)]
        for cols, rows in groups:
            self._fit_group(cols, rows, Y, F, cov_type, lags, use_t, conf_level, fits, failed,
                            small_sample)
        if not fits:
            first = failed.get(assets[0]) or next(iter(failed.values()))
            raise first
        info = info or EstimationInfo(factors=tuple(map(str, self.factors.columns)))
        info = replace(info, cov_type=cov_type, small_sample=bool(small_sample))
        design = _regressors(index, F, self.factors.columns)
        return _assemble(self.coef_names, assets, index, fits, failed, info, conf_level, design)

    def _fit_group(self, cols, rows, Y, F, cov_type, lags, use_t, conf_level, fits, failed,
                   small_sample=False):
        T = int(rows.sum())
        columns = self._columns
        names = [columns[j] for j in cols]
        if T < self.min_obs:
            err = InsufficientDataError(
                f"{T} aligned observations for {', '.join(map(str, names))}; "
                f"need at least {self.min_obs}"
            )
            failed.update({name: err for name in names})
            return
        # Slice only what differs from the whole: a full copy of a 2,520 x 500 block costs
        # as much as the regression itself.
        Ys = Y if rows.all() else Y[rows]
        if len(cols) != Y.shape[1]:
            Ys = Ys[:, cols]
        X = np.column_stack([np.ones(T), F[rows]])
        try:
            res = ols(Ys, X, cov_type, lags, use_t=use_t, conf_level=conf_level,
                      small_sample=small_sample, check_finite=False)
        except XlFactorError as err:
            failed.update({name: err for name in names})
            return
        # A constant column has nothing to explain; it is told by its zero centred sum of
        # squares, which the regression computes anyway (no separate pass over the data).
        for pos, name in enumerate(names):
            if res.tss[pos] > 0.0 and np.isfinite(res.tss[pos]):
                fits[name] = (res, pos, rows)
            elif not np.isfinite(res.tss[pos]):  # squares beyond 1.8e308: every figure inf/NaN
                failed[name] = InvalidInputError(
                    f"returns of {name!r} are too large to square in floating point "
                    "(about 1e154 or more): rescale them")
            else:
                failed[name] = InsufficientDataError(
                    f"returns of {name!r} are constant over the sample: nothing to explain")


def _regressors(index: pd.Index, F: np.ndarray, columns: pd.Index
                ) -> Callable[[], pd.DataFrame]:
    """The factors as regressed (no constant), dates x factors on the results' index, built
    on demand (residual diagnostics need them). A private read-only copy: later edits of
    the caller's frame cannot reach the results."""
    values = F.copy()
    values.setflags(write=False)
    names = list(map(str, columns))
    return lambda: pd.DataFrame(values, index=index, columns=names)


def _assemble(coef_names, assets, index, fits, failed, info, conf_level, design=None
              ) -> FactorResults:
    done = [a for a in assets if a in fits]
    k = len(coef_names)
    single = {id(fit[0]) for fit in fits.values()}
    if len(single) == 1 and len(done) == len(assets):
        res, _, rows = fits[done[0]]
        if [fits[a][1] for a in done] == list(range(len(done))):  # one batch, in order
            return _single_batch(coef_names, done, index, res, rows, failed, info, conf_level,
                                 design)
    arrays: dict[str, np.ndarray] = {
        **{f: np.empty((len(done), k)) for f in FactorResults._COEF_FIELDS},
        **{f: np.empty(len(done)) for f in FactorResults._ASSET_FIELDS},
        "cov": np.empty((len(done), k, k)),
        "nobs": np.empty(len(done), dtype=np.int64),
        "first_date": np.empty(len(done), dtype="datetime64[ns]"),
        "last_date": np.empty(len(done), dtype="datetime64[ns]"),
    }
    dates = index.values if isinstance(index, pd.DatetimeIndex) else None  # no copy
    by_fit: dict[int, tuple[OLSArrays, np.ndarray, list[int], list[int]]] = {}
    for i, a in enumerate(done):
        res, pos, rows = fits[a]
        entry = by_fit.setdefault(id(res), (res, rows, [], []))
        entry[2].append(i)
        entry[3].append(pos)
    for res, rows, targets, positions in by_fit.values():  # one copy per batched solve
        for f in (*FactorResults._COEF_FIELDS, *FactorResults._ASSET_FIELDS, "cov"):
            arrays[f][targets] = getattr(res, f)[positions]
        arrays["nobs"][targets] = res.nobs
        if dates is not None:
            first, last = np.flatnonzero(rows)[[0, -1]]
            arrays["first_date"][targets], arrays["last_date"][targets] = dates[first], dates[last]
    if dates is None:  # in-sheet data: row labels instead of dates
        labels = np.asarray(index)
        ends = {id(rows): np.flatnonzero(rows)[[0, -1]] for _, rows, _, _ in by_fit.values()}
        arrays["first_date"] = np.array([labels[ends[id(fits[a][2])][0]] for a in done], dtype=object)
        arrays["last_date"] = np.array([labels[ends[id(fits[a][2])][1]] for a in done], dtype=object)
    for values in arrays.values():  # results may be shared by memos: no in-place edits
        values.setflags(write=False)
    lags = {fits[a][0].lags for a in done}
    if info.cov_type == "HAC" and len(lags) == 1:
        info = replace(info, lags=lags.pop())

    def resid() -> pd.DataFrame:
        frame = pd.DataFrame(np.nan, index=index, columns=done)
        for j, a in enumerate(done):
            res, pos, rows = fits[a]
            frame.iloc[np.flatnonzero(rows), j] = res.resid[:, pos]
        return frame

    return FactorResults(coef_names, done, arrays, resid, info, failed, conf_level,
                         design=design)


def _single_batch(coef_names, done, index, res, rows, failed, info, conf_level, design=None
                  ) -> FactorResults:
    """Every asset from one batched solve, in order: its arrays are used as they are."""
    arrays = {f: getattr(res, f) for f in (*FactorResults._COEF_FIELDS,
                                           *FactorResults._ASSET_FIELDS, "cov")}
    n = len(done)
    arrays["nobs"] = np.full(n, res.nobs, dtype=np.int64)
    first, last = np.flatnonzero(rows)[[0, -1]]
    labels = index.values if isinstance(index, pd.DatetimeIndex) else np.asarray(index)
    dtype = "datetime64[ns]" if isinstance(index, pd.DatetimeIndex) else object
    arrays["first_date"] = np.full(n, labels[first], dtype=dtype)
    arrays["last_date"] = np.full(n, labels[last], dtype=dtype)
    for values in arrays.values():  # results may be shared by memos: no in-place edits
        values.setflags(write=False)
    if info.cov_type == "HAC":
        info = replace(info, lags=res.lags)

    def resid() -> pd.DataFrame:
        frame = pd.DataFrame(np.nan, index=index, columns=done)
        frame.iloc[np.flatnonzero(rows), :] = res.resid
        return frame

    return FactorResults(coef_names, done, arrays, resid, info, failed, conf_level,
                         design=design)
