"""Factor model specifications.

A model is an ordered tuple of factor names. Canonical factor names are upper case:
``MKT`` (market excess return, Fama-French ``Mkt-RF``), ``SMB``, ``HML``, ``RMW``,
``CMA`` and ``MOM`` (momentum, ``Mom``/``UMD``/``WML``). ``RF`` is the risk-free rate
and is never a regressor.
"""

from __future__ import annotations

from dataclasses import dataclass

from xlfactor.domain.errors import UnknownModelError

FACTORS: tuple[str, ...] = ("MKT", "SMB", "HML", "RMW", "CMA", "MOM")

#: Spellings seen in data files and typed by users, mapped to canonical names.
FACTOR_ALIASES: dict[str, str] = {
    "MKT": "MKT", "MKT-RF": "MKT", "MKTRF": "MKT", "MKT_RF": "MKT", "MARKET": "MKT",
    "SMB": "SMB", "HML": "HML", "RMW": "RMW", "CMA": "CMA",
    "MOM": "MOM", "UMD": "MOM", "WML": "MOM",
}


@dataclass(frozen=True)
class ModelSpec:
    """A named, ordered list of factors.

    Attributes
    ----------
    name : str
        Display name, e.g. ``"FF3"`` or ``"CUSTOM(MKT,SMB,MOM)"``.
    factors : tuple of str
        Canonical factor names in regression order (alpha always comes first in results).
    description : str
        One line for listings.
    """

    name: str
    factors: tuple[str, ...]
    description: str = ""

    @property
    def n_params(self) -> int:
        """Number of estimated coefficients, alpha included."""
        return len(self.factors) + 1


MODELS: dict[str, ModelSpec] = {
    m.name: m
    for m in (
        ModelSpec("CAPM", ("MKT",), "Market model: MKT"),
        ModelSpec("FF3", ("MKT", "SMB", "HML"), "Fama-French (1993) three factors"),
        ModelSpec("CARHART4", ("MKT", "SMB", "HML", "MOM"), "FF3 plus momentum (Carhart 1997)"),
        ModelSpec("FF5", ("MKT", "SMB", "HML", "RMW", "CMA"), "Fama-French (2015) five factors, 2x3"),
        ModelSpec("FF6", ("MKT", "SMB", "HML", "RMW", "CMA", "MOM"), "FF5 plus momentum"),
    )
}

_MODEL_ALIASES = {"CARHART": "CARHART4", "FF4": "CARHART4", "MARKET": "CAPM"}


def canonical_factor(name: str) -> str:
    """Return the canonical name of a factor, or raise :class:`UnknownModelError`."""
    key = str(name).strip().upper().replace(" ", "")
    try:
        return FACTOR_ALIASES[key]
    except KeyError:
        raise UnknownModelError(
            f"unknown factor {str(name).strip()!r}; valid factors: {', '.join(FACTORS)}"
        ) from None


def resolve_model(model: str | ModelSpec | list[str] | tuple[str, ...] | None) -> ModelSpec:
    """Turn a model name, a comma-separated factor list or a sequence into a :class:`ModelSpec`.

    Names are case-insensitive. ``None`` or an empty string means FF3. A custom list such as
    ``"MKT,SMB,MOM"`` keeps the user's order; a repeated factor is an error because the
    regressors would be perfectly collinear.
    """
    if isinstance(model, ModelSpec):
        return model
    if not isinstance(model, (str, list, tuple)) and model is not None:
        model = str(model)
    if model is None or (isinstance(model, str) and not model.strip()):
        return MODELS["FF3"]
    if isinstance(model, str):
        key = model.strip().upper()
        key = _MODEL_ALIASES.get(key, key)
        if key in MODELS:
            return MODELS[key]
        if "," not in key and key.replace(" ", "") not in FACTOR_ALIASES:
            raise UnknownModelError(
                f"unknown model {model.strip()!r}; valid models: {', '.join(MODELS)} "
                f"or a factor list such as 'MKT,SMB,MOM'"
            )
        parts = [p for p in key.split(",") if p.strip()]
    else:
        parts = [str(p) for p in model if str(p).strip()]
    if not parts:
        raise UnknownModelError("empty factor list")
    factors = tuple(canonical_factor(p) for p in parts)
    dupes = sorted({f for f in factors if factors.count(f) > 1})
    if dupes:
        raise UnknownModelError(
            f"factor {', '.join(dupes)} listed twice: the regressors would be perfectly collinear"
        )
    for spec in MODELS.values():
        if spec.factors == factors:
            return spec
    return ModelSpec(f"CUSTOM({','.join(factors)})", factors, "Custom factor list")
