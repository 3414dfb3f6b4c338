"""How a regression is estimated: the standard-error type and its options.

The names here are the vocabulary of every edge (cell arguments, CLI flags, keyword
arguments); the engine receives them already canonical.
"""

from __future__ import annotations

from dataclasses import dataclass

from xlfactor.domain.errors import InvalidInputError

#: Standard-error types, canonical spelling.
COV_TYPES = ("classical", "HC0", "HC1", "HC2", "HC3", "HAC")

_COV_ALIASES = {
    "": "classical", "CLASSICAL": "classical", "NONROBUST": "classical", "OLS": "classical",
    "HOMOSKEDASTIC": "classical", "UNADJUSTED": "classical",
    "HC0": "HC0", "HC1": "HC1", "HC2": "HC2", "HC3": "HC3", "WHITE": "HC0", "ROBUST": "HC1",
    "HAC": "HAC", "NW": "HAC", "NEWEY-WEST": "HAC", "NEWEYWEST": "HAC", "KERNEL": "HAC",
}


def canonical_cov_type(cov_type: str | None) -> str:
    """Normalise a covariance name (case-insensitive, common aliases) or raise.

    ``None`` and blank mean ``"classical"``; ``white`` is HC0, ``robust`` HC1 (Stata's
    ``, robust``), ``NW``/``Newey-West`` HAC.
    """
    key = "" if cov_type is None else str(cov_type).strip().upper()
    try:
        return _COV_ALIASES[key]
    except KeyError:
        raise InvalidInputError(
            f"unknown standard-error type {str(cov_type).strip()!r}; "
            f"valid: {', '.join(COV_TYPES)}"
        ) from None


def check_lag_count(lags: object, what: str = "HAC lags") -> int:
    """A lag count given by a user: a whole number of periods, at least 1.

    ``what`` names the lags in the message (``"HAC lags"``, ``"Ljung-Box lags"``).
    """
    try:
        whole = not isinstance(lags, bool) and float(lags).is_integer()  # type: ignore[arg-type]
    except (TypeError, ValueError):
        whole = False
    if not whole:
        raise InvalidInputError(f"{what} must be a whole number, got {lags!r}")
    count = int(lags)  # type: ignore[call-overload]
    if count < 1:
        raise InvalidInputError(f"{what} must be at least 1, got {count}")
    return count


@dataclass(frozen=True)
class FitOptions:
    """Estimation options of a request, canonical.

    Attributes
    ----------
    se : {"classical", "HC0", "HC1", "HC2", "HC3", "HAC"}
        Standard-error type.
    lags : int or None
        Newey-West lags for HAC; ``None`` is the default rule floor(4 (T/100)^(2/9)).
    small_sample : bool
        Stata's convention: covariance times n / (n - k) for HAC and HC0, t inference.
    use_t : bool or None
        t (True) or normal (False) p-values and intervals; ``None`` follows the SE type.
    conf_level : float
        Confidence level of the intervals, in (0, 1).
    min_obs : int or None
        Fewest observations an asset needs; ``None`` is the model's own minimum.
    """

    se: str = "classical"
    lags: int | None = None
    small_sample: bool = False
    use_t: bool | None = None
    conf_level: float = 0.95
    min_obs: int | None = None

    @classmethod
    def build(
        cls,
        se: str | None = "classical",
        lags: object = None,
        *,
        small_sample: bool = False,
        use_t: bool | None = None,
        conf_level: float = 0.95,
        min_obs: int | None = None,
    ) -> FitOptions:
        """Options from user values: aliases resolved, lags checked.

        Raises
        ------
        InvalidInputError
            An unknown SE type or a lag count that is not a whole number >= 1.
        """
        return cls(
            se=canonical_cov_type(se),
            lags=None if lags is None else check_lag_count(lags),
            small_sample=bool(small_sample),
            use_t=use_t,
            conf_level=conf_level,
            min_obs=min_obs,
        )
