"""The results object of a factor regression, in the style of linearmodels.

All per-coefficient statistics are DataFrames with one row per asset and one column per
coefficient (``alpha`` first, then factors in model order); per-asset statistics are
Series indexed by asset. Returns are decimals per period (day, week or month). Figures
per year need the frequency: results whose frequency is not known (a regression on
undated arrays) are reported per period and refuse to annualise.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from xlfactor.domain.errors import InvalidInputError, XlFactorError
from xlfactor.domain.frequency import FREQUENCY_WORDS

PERIODS_PER_YEAR = {"D": 252, "W": 52, "M": 12}
COV_LABELS = {
    "classical": "classical (homoskedastic)",
    "HC0": "White HC0", "HC1": "White HC1", "HC2": "White HC2", "HC3": "White HC3",
    "HAC": "Newey-West HAC",
}


@dataclass(frozen=True)
class EstimationInfo:
    """What was estimated, on what data: carried into every table and cell header."""

    model: str = ""
    factors: tuple[str, ...] = ()
    frequency: str | None = None  # "D", "W", "M"; None: not known, figures per period only
    cov_type: str = "classical"
    lags: int | None = None
    start: pd.Timestamp | None = None
    end: pd.Timestamp | None = None
    price_source: str = ""
    factor_source: str = ""
    release: str = ""
    stale: bool = False
    excess: bool = True
    notes: tuple[str, ...] = field(default_factory=tuple)
    region: str = "US"
    warnings: tuple[str, ...] = field(default_factory=tuple)
    small_sample: bool = False

    @property
    def annualisable(self) -> bool:
        """Whether the frequency is known, so that figures per year can be given."""
        return self.frequency in PERIODS_PER_YEAR

    @property
    def periods_per_year(self) -> int:
        """252 daily, 52 weekly, 12 monthly.

        Raises
        ------
        InvalidInputError
            The frequency is not known: nothing is annualised on a guess.
        """
        if not self.annualisable:
            raise InvalidInputError(
                "the frequency of these data is not known, so nothing can be annualised: "
                "give it (regress(..., freq='D', 'W' or 'M'), or dated data) or use the "
                "per-period figures")
        return PERIODS_PER_YEAR[self.frequency]

    @property
    def frequency_label(self) -> str:
        """``daily``/``weekly``/``monthly``, or that the figures are per period."""
        if self.frequency in FREQUENCY_WORDS:
            return FREQUENCY_WORDS[self.frequency]
        return "not known: figures are per period, not annualised"

    @property
    def se_label(self) -> str:
        """The standard errors in words, e.g. ``Newey-West (HAC), 4 lags``."""
        se = COV_LABELS.get(self.cov_type, self.cov_type)
        if self.cov_type == "HAC" and self.lags is not None:
            se += f", {self.lags} lags"
        if self.small_sample and self.cov_type in ("HAC", "HC0"):
            se += ", small-sample n/(n-k) and t tests as Stata"
        elif self.small_sample and self.cov_type != "classical":
            se += ", t tests as Stata"
        return se

    def describe(self) -> list[tuple[str, str]]:
        """Label/value pairs for headers, in reading order."""
        se = self.se_label
        period = ""
        if self.start is not None and self.end is not None:
            period = f"{self.start:%Y-%m-%d} to {self.end:%Y-%m-%d}"
        rows = [
            ("Model", f"{self.model} ({', '.join(self.factors)})" if self.factors else self.model),
            ("Period", period),
            ("Frequency", self.frequency_label),
            ("Std. errors", se),
            ("Dependent", "excess return over RF" if self.excess else "return as given"),
            ("Returns" if self.price_source.startswith(("returns supplied", "prices supplied"))
             else "Prices", self.price_source),
            ("Factors", self.factor_source + ("" if self.region == "US" else f", {self.region}")
             + (f", release {self.release}" if self.release else "")),
        ]
        if self.stale:
            rows.append(("Warning", "STALE: a refresh failed, cached data were used"))
            rows.extend(("Note", n) for n in self.notes if "STALE" in n)
        rows.extend(("Warning", w) for w in self.warnings)
        return [(k, v) for k, v in rows if v]


class FactorResults:
    """Estimates of a factor model for one or more assets.

    Attributes
    ----------
    params, std_errors, tstats, pvalues, ci_lower, ci_upper : DataFrame
        Assets x coefficients (``alpha`` then factors). Alpha is per period.
    rsquared, rsquared_adj, fstat, f_pvalue, nobs, resid_std, durbin_watson,
    loglik, aic, bic : Series
        One value per asset. ``resid_std`` is the residual standard deviation per period
        (square root of SSR / (T - k)).
    resid : DataFrame
        Residuals, dates x assets (NaN outside each asset's sample).
    first_date, last_date : Series
        The first and last observation date used for each asset.
    failed : dict
        Assets that could not be estimated, mapped to the error (multi-asset calls keep
        going when one asset fails).
    info : EstimationInfo
    """

    _COEF_FIELDS = ("params", "std_errors", "tstats", "pvalues", "ci_lower", "ci_upper")
    _ASSET_FIELDS = (
        "rsquared", "rsquared_adj", "fstat", "f_pvalue", "resid_std", "durbin_watson",
        "loglik", "aic", "bic",
    )

    def __init__(
        self,
        coef_names: list[str],
        assets: list[str],
        arrays: dict[str, np.ndarray],
        resid: Callable[[], pd.DataFrame],
        info: EstimationInfo,
        failed: dict[str, XlFactorError] | None = None,
        conf_level: float = 0.95,
        *,
        design: Callable[[], pd.DataFrame] | None = None,
    ) -> None:
        # Estimates are kept as arrays; the labelled pandas views are built on first
        # access, so a worksheet cell that needs one row pays for no DataFrame it skips.
        self.coef_names = list(coef_names)
        self._assets = list(assets)
        self._arrays = arrays
        self._resid = resid
        self._design = design  # the factors as regressed, dates x factors (no constant)
        self._views: dict[str, object] = {}
        self.info = info
        self.failed = dict(failed or {})
        self.conf_level = conf_level

    def _view(self, name: str):
        view = self._views.get(name)
        if view is None:
            index = pd.Index(self._assets, name="asset")
            data = self._arrays[name]
            if name in self._COEF_FIELDS:
                view = pd.DataFrame(data, index=index, columns=self.coef_names)
            else:
                view = pd.Series(data, index=index, name=name)
            self._views[name] = view
        return view

    def row(self, field: str, asset: str) -> np.ndarray:
        """One asset's values of a field (e.g. ``"params"``) as a plain array, no pandas."""
        return self._arrays[field][self._assets.index(asset)]

    params = property(lambda self: self._view("params"))
    std_errors = property(lambda self: self._view("std_errors"))
    tstats = property(lambda self: self._view("tstats"))
    pvalues = property(lambda self: self._view("pvalues"))
    ci_lower = property(lambda self: self._view("ci_lower"))
    ci_upper = property(lambda self: self._view("ci_upper"))
    rsquared = property(lambda self: self._view("rsquared"))
    rsquared_adj = property(lambda self: self._view("rsquared_adj"))
    fstat = property(lambda self: self._view("fstat"))
    f_pvalue = property(lambda self: self._view("f_pvalue"))
    resid_std = property(lambda self: self._view("resid_std"))
    durbin_watson = property(lambda self: self._view("durbin_watson"))
    loglik = property(lambda self: self._view("loglik"))
    aic = property(lambda self: self._view("aic"))
    bic = property(lambda self: self._view("bic"))
    nobs = property(lambda self: self._view("nobs"))
    first_date = property(lambda self: self._view("first_date"))
    last_date = property(lambda self: self._view("last_date"))

    @property
    def cov(self) -> dict[str, pd.DataFrame]:
        """Coefficient covariance matrix per asset."""
        return {
            a: pd.DataFrame(self._arrays["cov"][i], index=self.coef_names, columns=self.coef_names)
            for i, a in enumerate(self._assets)
        }

    @property
    def resid(self) -> pd.DataFrame:
        if "resid" not in self._views:
            self._views["resid"] = self._resid()
        return self._views["resid"]

    def diagnostics(self, lags: int | None = None) -> pd.DataFrame:
        """Residual diagnostics of every asset's regression: normality, heteroskedasticity,
        autocorrelation.

        Each asset is tested on its own sample (the rows where it and every factor were
        observed, as in the estimation); statsmodels computes every statistic and is
        loaded only when this is first called. Computed once per ``lags``.

        Parameters
        ----------
        lags : int, optional
            Ljung-Box lag count, the same for every asset; must be at least 1 and smaller
            than each asset's number of observations. Default, per asset:
            ``max(1, min(10, nobs // 5))`` (statsmodels' own default rule).

        Returns
        -------
        DataFrame
            One row per asset, in :attr:`assets` order (index ``asset``), columns:

            ``jb_stat``, ``jb_pvalue``
                Jarque-Bera ``n / 6 * (S^2 + (K - 3)^2 / 4)``, p-value from chi-square(2).
            ``skew``, ``kurtosis``
                Moment (biased, divisor n) skewness ``S`` and kurtosis ``K`` of the
                residuals. Kurtosis is Pearson's: 3 for a normal distribution, *not*
                excess kurtosis.
            ``bp_stat``, ``bp_pvalue``
                Breusch-Pagan LM statistic: n R^2 of the auxiliary regression of the
                squared residuals on the model's design (constant and factors). This is
                Koenker's studentised form, statsmodels' default (``robust=True``), which
                does not assume normal errors; p-value from chi-square(number of factors).
            ``lb_stat``, ``lb_pvalue``, ``lb_lags``
                Ljung-Box ``Q = n (n + 2) sum_{j=1..L} r_j^2 / (n - j)`` with ``r_j`` the
                lag-j autocorrelation of the (demeaned) residuals and ``L = lb_lags``;
                p-value from chi-square(L), no degrees of freedom removed for the fit.
            ``durbin_watson``
                ``sum (e_t - e_{t-1})^2 / sum e_t^2``; about 2 without first-order
                autocorrelation.

        Raises
        ------
        InvalidInputError
            ``lags`` is not a whole number from 1 to an asset's observations less one.
        XlFactorError
            These results were built without their regressors (not by
            :class:`~xlfactor.engine.model.FactorModel`).
        """
        from xlfactor.engine.diagnostics import results_diagnostics

        key = f"diagnostics:{lags!r}"
        table = self._views.get(key)
        if table is None:
            table = results_diagnostics(self, lags)
            self._views[key] = table
        return table.copy()

    # -- convenience -----------------------------------------------------------------
    @property
    def assets(self) -> list[str]:
        """Assets that were estimated, in request order."""
        return list(self._assets)

    @property
    def alpha(self) -> pd.Series:
        """Alpha per period (decimal)."""
        return self.params["alpha"]

    @property
    def betas(self) -> pd.DataFrame:
        """Factor loadings only (no alpha)."""
        return self.params.drop(columns="alpha")

    def alpha_annualized(self, method: str = "arithmetic") -> pd.Series:
        """Alpha per year.

        ``"arithmetic"`` multiplies by periods per year (252 daily, 52 weekly, 12 monthly);
        ``"geometric"`` compounds: (1 + alpha)^periods - 1.

        Raises
        ------
        InvalidInputError
            An unknown ``method``, or results whose frequency is not known.
        """
        method = str(method).strip().lower()
        if method in ("arithmetic", "simple", "linear"):
            return self.alpha * self.info.periods_per_year
        if method in ("geometric", "compound", "compounded"):
            return (1.0 + self.alpha) ** self.info.periods_per_year - 1.0
        raise InvalidInputError(f"annualize must be 'arithmetic' or 'geometric', got {method!r}")

    def resid_vol_annualized(self) -> pd.Series:
        """Residual (idiosyncratic) volatility per year: resid_std * sqrt(periods per year).

        Raises :class:`InvalidInputError` when the frequency is not known."""
        return self.resid_std * np.sqrt(self.info.periods_per_year)

    def with_info(self, **changes) -> FactorResults:
        """A copy whose :class:`EstimationInfo` has ``changes`` applied."""
        out = object.__new__(FactorResults)
        out.__dict__.update(self.__dict__)
        out._views = {}  # views are cheap to rebuild; never shared between copies
        out.failed = dict(self.failed)
        out.info = replace(self.info, **changes)
        return out

    def asset_table(self, asset: str) -> pd.DataFrame:
        """Coefficient table of one asset: rows coefficients, columns coef/SE/t/p/CI."""
        pct = f"{self.conf_level:.0%}"
        return pd.DataFrame(
            {
                "coef": self.params.loc[asset],
                "std err": self.std_errors.loc[asset],
                "t": self.tstats.loc[asset],
                "P>|t|": self.pvalues.loc[asset],
                f"CI {pct} low": self.ci_lower.loc[asset],
                f"CI {pct} high": self.ci_upper.loc[asset],
            }
        )

    def asset_stats(self, asset: str) -> list[tuple[str, object]]:
        """Fit statistics of one asset, labelled, in display order.

        The annualised rows appear only when the frequency is known; the sample's ends are
        dates (``First date``) for dated data, row labels (``First row``) otherwise.
        """
        rows: list[tuple[str, object]] = [
            ("R-squared", float(self.rsquared[asset])),
            ("Adj. R-squared", float(self.rsquared_adj[asset])),
            ("F-statistic", float(self.fstat[asset])),
            ("Prob (F)", float(self.f_pvalue[asset])),
            ("Observations", int(self.nobs[asset])),
        ]
        if self.info.annualisable:
            n = self.info.periods_per_year
            rows += [(f"Alpha, annualised (x{n})", float(self.alpha[asset] * n)),
                     ("Residual vol, annualised", float(self.resid_std[asset] * np.sqrt(n)))]
        rows += [
            ("Durbin-Watson", float(self.durbin_watson[asset])),
            ("AIC", float(self.aic[asset])),
            ("BIC", float(self.bic[asset])),
        ]
        return rows + _sample_ends(self.first_date[asset], self.last_date[asset])

    @property
    def warnings(self) -> tuple[str, ...]:
        """What the data did not allow as asked, in words: returns left out around
        missing prices, long gaps, prices that look unadjusted, a sample shorter than
        requested, factors compounded from daily data. Empty when nothing was amiss."""
        return self.info.warnings

    def summary(self) -> str:
        """A plain-text report: what was estimated, then one block per asset."""
        from xlfactor.engine.report import format_summary

        return format_summary(self)

    def __repr__(self) -> str:
        return self.summary()


def _sample_ends(first: object, last: object) -> list[tuple[str, object]]:
    """The first and last observation: dates as ``YYYY-MM-DD``, other labels as they are."""
    if all(isinstance(v, (pd.Timestamp, np.datetime64)) or hasattr(v, "strftime")
           for v in (first, last)):
        return [("First date", f"{pd.Timestamp(first):%Y-%m-%d}"),
                ("Last date", f"{pd.Timestamp(last):%Y-%m-%d}")]
    return [("First row", _plain(first)), ("Last row", _plain(last))]


def _plain(label: object) -> object:
    """A row label for display: numpy scalars as Python numbers, others as text."""
    if hasattr(label, "item"):
        label = label.item()
    return label if isinstance(label, (int, float)) else str(label)
