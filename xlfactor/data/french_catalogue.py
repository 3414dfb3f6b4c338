"""The catalogue of the Kenneth R. French Data Library: which file holds which factors.

File names per family and frequency (US and international regions), the factor columns
of each family's file, and which families a set of factors needs. The sources are in
:mod:`xlfactor.data.french`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType

from xlfactor.data.french_csv import FrenchFile
from xlfactor.domain.errors import DataFormatError
from xlfactor.domain.models import canonical_factor
from xlfactor.domain.regions import REGIONS, canonical_region

#: Library file name (without ``_CSV.zip``) for each (family, frequency) it publishes.
DATASETS: Mapping[tuple[str, str], str] = MappingProxyType(
    {
        ("FF3", "D"): "F-F_Research_Data_Factors_daily",
        ("FF3", "W"): "F-F_Research_Data_Factors_weekly",
        ("FF3", "M"): "F-F_Research_Data_Factors",
        ("FF5", "D"): "F-F_Research_Data_5_Factors_2x3_daily",
        ("FF5", "M"): "F-F_Research_Data_5_Factors_2x3",
        ("MOM", "D"): "F-F_Momentum_Factor_daily",
        ("MOM", "M"): "F-F_Momentum_Factor",
    }
)

def regional_dataset(region: str, family: str, frequency: str) -> str | None:
    """File name of a family at a frequency for a region, or None if not published.

    US files are :data:`DATASETS`. International files follow the library's naming:
    ``<Region>_3_Factors[_Daily]``, ``<Region>_5_Factors[_Daily]`` and
    ``<Region>_Mom_Factor[_Daily]`` (``MOM`` for Asia Pacific ex Japan and Emerging). No
    international file is weekly; emerging markets are monthly only and have no
    3-factor file, so their MKT/SMB/HML come from the 5-factor file.
    """
    region = canonical_region(region)
    if region == "US":
        return DATASETS.get((family, frequency))
    prefix = REGIONS[region]
    if frequency == "W" or (region == "Emerging" and frequency != "M"):
        return None
    suffix = "_Daily" if frequency == "D" else ""
    if family == "MOM":
        mom = "MOM" if region in ("Asia Pacific ex Japan", "Emerging") else "Mom"
        return f"{prefix}_{mom}_Factor{suffix}"
    if family == "FF3" and region != "Emerging":
        return f"{prefix}_3_Factors{suffix}"
    return f"{prefix}_5_Factors{suffix}"


_FIVE_FACTOR_ONLY = frozenset({"RMW", "CMA"})

#: The factor columns (canonical names) of each family's file. A file holding other known
#: factors is another family's file: the five-factor file served at the three-factor
#: name has the same MKT/SMB/HML headers but an SMB built from other sorts, so only its
#: extra columns tell it apart.
FAMILY_COLUMNS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "FF3": ("MKT", "SMB", "HML", "RF"),
    "FF5": ("MKT", "SMB", "HML", "RMW", "CMA", "RF"),
    "MOM": ("MOM",),
})
_KNOWN_COLUMNS = frozenset(c for columns in FAMILY_COLUMNS.values() for c in columns)
_FAMILY_WORDS = {"FF3": "three-factor", "FF5": "five-factor", "MOM": "momentum"}


def family_of(name: str) -> str | None:
    """The family (``"FF3"``, ``"FF5"``, ``"MOM"``) of the library dataset ``name``, from
    the library's naming (US and international); None for a name it does not follow."""
    lowered = name.lower()
    for (family, _), dataset in DATASETS.items():
        if dataset.lower() == lowered:
            return family
    if "_5_factors" in lowered:
        return "FF5"
    if "_3_factors" in lowered:
        return "FF3"
    if "_mom_factor" in lowered:
        return "MOM"
    return None


def check_contents(file: FrenchFile, name: str) -> None:
    """Refuse a file whose factor columns are not those of the dataset ``name``.

    Every column of the dataset must be there, and none of MKT, SMB, HML, RMW and CMA
    beyond them (RMW and CMA mark the five-factor file, MKT/SMB/HML a factors file where
    momentum was asked). Columns the library might add later (RF in the momentum file, a
    factor xlfactor does not know) are allowed. Names outside the library's naming are
    not checked.

    Raises
    ------
    DataFormatError
        Naming what was asked, the columns that arrived and, when they are another
        family's, which.
    """
    family = family_of(name)
    if family is None:
        return
    expected = FAMILY_COLUMNS[family]
    found = [c for c in file.main.columns if c in _KNOWN_COLUMNS]
    foreign = set(found) - set(expected) - {"RF", "MOM"}
    if set(expected) <= set(found) and not foreign:
        return
    other = next((f for f, cols in FAMILY_COLUMNS.items() if sorted(cols) == sorted(found)), "")
    looks = f" (the {_FAMILY_WORDS[other]} file's columns)" if other else ""
    raise DataFormatError(
        f"{name}: asked for the {_FAMILY_WORDS[family]} file ({', '.join(expected)}), but the "
        f"file holds {', '.join(map(str, file.main.columns))}{looks}: another dataset was "
        "served or saved under this name; refusing it")


def _requested(factors: Sequence[str] | str) -> tuple[str, ...]:
    """Canonical factor names in the caller's order, without duplicates or ``RF``."""
    items = factors.split(",") if isinstance(factors, str) else list(factors)
    names: list[str] = []
    for item in items:
        if not str(item).strip() or str(item).strip().upper() == "RF":
            continue
        canonical = canonical_factor(item)
        if canonical not in names:
            names.append(canonical)
    return tuple(names)


def families_for(factors: Sequence[str] | str) -> tuple[str, ...]:
    """Library file families needed for ``factors``.

    The five-factor file serves MKT/SMB/HML/RMW/CMA/RF whenever RMW or CMA is wanted;
    otherwise the three-factor file does. The two are never mixed because the 2x3 SMB
    of the five-factor file is constructed differently. ``"MOM"`` is added for momentum.

    Returns
    -------
    tuple of str
        ``("FF3",)``, ``("FF5",)``, ``("FF3", "MOM")`` or ``("FF5", "MOM")``.

    Raises
    ------
    UnknownModelError
        For a factor name that is not known.
    """
    wanted = _requested(factors)
    base = "FF5" if _FIVE_FACTOR_ONLY & set(wanted) else "FF3"
    return (base, "MOM") if "MOM" in wanted else (base,)
