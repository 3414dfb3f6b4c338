"""The FACTOR_* formulas the result sheets spill.

Every factor function that has a region takes the Region input as its last argument,
except FACTOR_ALPHA, whose standard-error arguments come after it (they were added last,
so older formulas keep their meaning): it takes the Inputs' SE type and lags, as
FACTOR_TSTATS does, so the Betas sheet shows one t per alpha. The optional arguments
before them are spelled out with their defaults (header TRUE, annualize TRUE, output
"table") rather than left empty, so the formula reads the same in Excel and in any tool
that evaluates it.
"""

from __future__ import annotations

from xlfactor.excel import refresh as R

FIRST = f"INDEX({R.NAME_TICKERS},1)"
SAMPLE = f"{R.NAME_MODEL},{R.NAME_START},{R.NAME_END},{R.NAME_FREQ}"
REGION = R.NAME_REGION
F_BETAS = f"FACTOR_BETAS({R.NAME_TICKERS},{SAMPLE},TRUE,{REGION})"
F_ALPHA = (f"FACTOR_ALPHA({R.NAME_TICKERS},{SAMPLE},TRUE,TRUE,{REGION},{R.NAME_SE},"
           f"{R.NAME_LAGS})")
F_RSQ = f"FACTOR_RSQ({R.NAME_TICKERS},{SAMPLE},TRUE,{REGION})"
F_TSTATS = (f"FACTOR_TSTATS({R.NAME_TICKERS},{SAMPLE},{R.NAME_SE},{R.NAME_LAGS},TRUE,"
            f"{REGION})")
F_STATS = f"FACTOR_STATS({FIRST},{SAMPLE},{R.NAME_SE},{R.NAME_LAGS},{REGION})"
F_ROLLING = (f"FACTOR_ROLLING({FIRST},{R.NAME_MODEL},{R.NAME_WINDOW},{R.NAME_START},"
             f"{R.NAME_END},{R.NAME_FREQ},TRUE,{REGION})")
F_DATA = f"FACTOR_DATA({SAMPLE},TRUE,{REGION})"
F_ATTRIBUTION = f'FACTOR_ATTRIBUTION({FIRST},{SAMPLE},"table",TRUE,{REGION})'
F_COMPARE = (f"FACTOR_COMPARE({FIRST},{R.NAME_START},{R.NAME_END},{R.NAME_FREQ},{R.NAME_SE},"
             f"TRUE,{REGION})")
F_PORTFOLIO = (f"FACTOR_PORTFOLIO({R.NAME_TICKERS},{R.NAME_WEIGHTS},{SAMPLE},{R.NAME_REBALANCE},"
               f"TRUE,{REGION})")
F_GRS = f"FACTOR_GRS({R.NAME_TICKERS},{SAMPLE},{REGION})"


def shown(formula: str) -> str:
    """A formula as readers type it (leading ``=``, a space after commas), for headings."""
    return "=" + formula.replace(",", ", ")
