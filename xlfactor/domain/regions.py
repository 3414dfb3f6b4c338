"""Factor regions: the markets the Kenneth French Data Library publishes factors for.

Region names are part of a request (``region="Europe"``), so they live here; which file
serves a region is the French source's business (:mod:`xlfactor.data.french`).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from xlfactor.domain.errors import InvalidInputError

#: Regions of the library's international factor files: canonical name -> file prefix.
REGIONS: Mapping[str, str] = MappingProxyType(
    {
        "US": "",
        "Developed": "Developed",
        "Developed ex US": "Developed_ex_US",
        "Europe": "Europe",
        "Japan": "Japan",
        "Asia Pacific ex Japan": "Asia_Pacific_ex_Japan",
        "North America": "North_America",
        "Emerging": "Emerging",
    }
)
_REGION_ALIASES = {
    "": "US", "USA": "US", "UNITEDSTATES": "US", "GLOBAL": "Developed", "DEVELOPEDEXUS": "Developed ex US",
    "INTERNATIONAL": "Developed ex US", "EXUS": "Developed ex US", "EU": "Europe", "JP": "Japan",
    "APAC": "Asia Pacific ex Japan", "ASIAPACIFICEXJAPAN": "Asia Pacific ex Japan",
    "NA": "North America", "EM": "Emerging", "EMERGINGMARKETS": "Emerging",
}


def canonical_region(region: str | None) -> str:
    """Normalise a region name (case, spaces, underscores and hyphens ignored) or raise."""
    if region is None or region == "US":
        return "US"
    key = "".join(ch for ch in str(region or "").upper() if ch.isalnum())
    for name in REGIONS:
        if key == "".join(ch for ch in name.upper() if ch.isalnum()):
            return name
    if key in _REGION_ALIASES:
        return _REGION_ALIASES[key]
    raise InvalidInputError(
        f"unknown region {str(region).strip()[:40]!r}; valid regions: {', '.join(REGIONS)}"
    )
