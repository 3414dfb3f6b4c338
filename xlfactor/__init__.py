"""xlfactor: Fama-French factor regressions for Excel, Python and the command line.

The top-level names load lazily so that importing the package (as Excel does through
:mod:`xlfactor.udfs`) stays fast.
"""

from __future__ import annotations

__version__ = "0.1.0"

_LAZY = {
    "fit": "api", "regress": "api", "rolling": "api", "factor_returns": "api",
    "asset_returns": "api", "build_sample": "api", "fit_returns": "own_returns",
    "FactorModel": "engine.model", "FactorResults": "engine.results",
    "Settings": "data.settings", "resolve_model": "domain.models", "MODELS": "domain.models",
}

__all__ = [  # noqa: PLE0604 - the lazy names are strings
    "__version__", *_LAZY,
]


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        module = importlib.import_module(f".{_LAZY[name]}", __name__)
        return getattr(module, name)
    raise AttributeError(f"module 'xlfactor' has no attribute {name!r}")
