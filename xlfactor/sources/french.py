"""Fama-French factors from the Kenneth R. French Data Library.

The library publishes each dataset as ``<name>_CSV.zip`` holding one CSV file laid out
for people rather than machines: free-text header lines, a table whose header row starts
with a comma (``,Mkt-RF,SMB,HML,RF``), and in monthly files a second, annual table after a
blank line and a title, then a copyright line. Values are percent per period; ``-99.99``
and ``-999`` mean missing.

:func:`parse_french_csv` turns such a file into decimal returns with canonical column
names (:data:`xlfactor.models.FACTOR_ALIASES`). :class:`FrenchLibrary` downloads the files,
:class:`FrenchFiles` reads manually downloaded copies; both serve
:class:`~xlfactor.sources.base.FactorData` through :func:`combine_factor_files`.
"""

from __future__ import annotations

import functools
import io
import re
import threading
import time
import zipfile
import zlib
from abc import abstractmethod
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from os import PathLike
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pandas as pd

from ..errors import DataFormatError, DataUnavailableError, InvalidInputError
from ..models import FACTOR_ALIASES, canonical_factor
from . import http as _http
from .base import FactorData, FactorSource, check_frequency

#: Seconds a stale cached file is reused before the library is asked again.
STALE_RETRY_SECONDS = 300

SOURCE_NAME = "Kenneth French Data Library"
DEFAULT_BASE_URL = "https://mba.tuck.dartmouth.edu/pages/faculty/ken.french/ftp/"

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


#: Missing-value codes documented by the library, in the file's raw (percent) units.
MISSING_CODES: tuple[float, ...] = (-99.99, -999.0)

_FREQUENCY_NAMES = {"D": "daily", "W": "weekly", "M": "monthly"}
_DATE_FORMATS = {8: "%Y%m%d", 6: "%Y%m", 4: "%Y"}
# ASCII only: str.isdigit and \d would otherwise accept other scripts' digits.
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_RELEASE = re.compile(r"\b(\d{6})\s+([A-Za-z][\w&-]*)\s+database\b", re.IGNORECASE)
_FIVE_FACTOR_ONLY = frozenset({"RMW", "CMA"})
# A CSV member far larger than any library file is refused rather than inflated.
_MAX_MEMBER_BYTES = 128 * 2**20


@dataclass(frozen=True, eq=False)
class FrenchFile:
    """One parsed library file.

    Attributes
    ----------
    name : str
        Dataset name, e.g. ``"F-F_Research_Data_Factors_daily"`` (``""`` if unknown).
    description : str
        The free-text header above the first table, stripped.
    release : str
        Data release such as ``"202510 CRSP"``; ``""`` when the header does not say.
    frequency : {"D", "W", "M"}
        Frequency of the main table.
    main : DataFrame
        Main table: float64 decimal returns per period (0.0123 = 1.23 %), missing codes as
        NaN, canonical column names, DatetimeIndex ``"date"`` (monthly rows on the last
        calendar day of the month). Shared by caches: do not modify in place.
    annual : DataFrame or None
        The January-December annual table of monthly files (decimal returns per year,
        rows on 31 December), or None.
    """

    name: str
    description: str
    release: str
    frequency: str
    main: pd.DataFrame
    annual: pd.DataFrame | None = None


# ---------------------------------------------------------------------------- parsing


def parse_french_csv(text: str, name: str = "") -> FrenchFile:
    """Parse the text of a French Data Library CSV file.

    Parameters
    ----------
    text : str
        The whole file; CRLF, CR or LF line endings.
    name : str
        Dataset name, used in messages and to tell weekly from daily files.

    Returns
    -------
    FrenchFile
        Decimal returns (the file's percent values divided by 100).

    Raises
    ------
    DataFormatError
        For an HTML page or other non-CSV content, a missing header row, a non-numeric or
        short data row, an invalid date, or dates that are not strictly increasing.
    """
    label = name or "French CSV file"
    lines = re.split(r"\r\n|\r|\n", text.removeprefix("\ufeff"))
    _reject_non_csv(lines, label)
    headers = [i for i, line in enumerate(lines) if line.lstrip().startswith(",")]
    if not headers:
        raise DataFormatError(f"{label}: no table header row (a line starting with ',') found")
    main, width = _parse_table(lines, headers[0], label)
    if width == 4:
        raise DataFormatError(f"{label}, line {headers[0] + 2}: main table has YYYY dates")
    description = "\n".join(line.strip() for line in lines[: headers[0]]).strip()
    return FrenchFile(
        name=name,
        description=description,
        release=_release(description),
        frequency=_frequency(width, name, main.index),
        main=main,
        annual=_parse_annual(lines, headers[1:], label),
    )


def _reject_non_csv(lines: list[str], label: str) -> None:
    """Fail early, with a clear message, on content that is plainly not a French CSV."""
    head = "\n".join(lines[:20]).lstrip().lower()
    if head.startswith("<") or "<html" in head or "<!doctype" in head:
        raise DataFormatError(f"{label}: got an HTML page instead of a CSV file")
    if "\x00" in head:
        raise DataFormatError(f"{label}: got binary data instead of a CSV file")


def _parse_table(lines: list[str], header: int, label: str) -> tuple[pd.DataFrame, int]:
    """Parse the table whose header row is ``lines[header]``.

    Returns the frame and the number of digits of its date codes (8, 6 or 4).
    """
    columns = _column_names(lines[header], header + 1, label)
    end = header + 1
    # A table ends at a blank line; tolerate a copyright line glued to the last row.
    while end < len(lines) and lines[end].strip() and not _is_footer(lines[end]):
        end += 1
    body = lines[header + 1 : end]
    if not body:
        raise DataFormatError(f"{label}, line {header + 1}: table header has no data rows")
    first_line = header + 2  # 1-based number of the first data row
    codes, values = _parse_rows(body, first_line, len(columns), label)
    index, width = _parse_dates(codes, first_line, label)
    _check_order(index, codes, first_line, label)
    return pd.DataFrame(values, index=index, columns=columns), width


def _is_footer(line: str) -> bool:
    return line.strip().lower().startswith("copyright")


def _column_names(header_line: str, line_no: int, label: str) -> list[str]:
    """Canonical column names from a header row such as ``,Mkt-RF,SMB,HML,RF``."""
    raw = [c.strip() for c in header_line.strip().split(",")[1:]]
    if not raw or not all(raw):
        raise DataFormatError(f"{label}, line {line_no}: empty column name in header row")
    names = [_canonical_column(c) for c in raw]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise DataFormatError(f"{label}, line {line_no}: duplicate column {', '.join(dupes)}")
    return names


def _canonical_column(column: str) -> str:
    """``Mkt-RF`` -> ``MKT``, ``Mom`` -> ``MOM``; ``RF`` and unknown names stay as they are."""
    key = column.upper().replace(" ", "")
    if key == "RF":
        return "RF"
    return FACTOR_ALIASES.get(key, column)


def _parse_rows(
    body: list[str], first_line: int, n_columns: int, label: str
) -> tuple[list[str], np.ndarray]:
    """Split data rows into date codes and a float array of decimal returns."""
    pattern = _row_pattern(n_columns)
    codes: list[str] = []
    rows: list[tuple[str, ...]] = []
    for offset, line in enumerate(body):
        match = pattern.fullmatch(line)
        if match is None:
            problem = _row_problem([f.strip() for f in line.split(",")], n_columns)
            raise DataFormatError(
                f"{label}, line {first_line + offset}: {problem} in {line.strip()[:60]!r}"
            )
        codes.append(match.group(1))
        rows.append(match.groups()[1:])
    raw = np.array(rows, dtype=np.float64)
    # Missing codes are matched on the raw percent numbers, before any arithmetic.
    raw[np.isin(raw, MISSING_CODES)] = np.nan
    return codes, raw / 100.0


@functools.cache
def _row_pattern(n_columns: int) -> re.Pattern[str]:
    """One regular expression per row shape: a whole row is checked in a single match."""
    value = rf"\s*({_NUMBER.pattern})\s*"
    return re.compile(r"\s*(\d+)\s*" + ("," + value) * n_columns, re.ASCII)


def _row_problem(fields: list[str], n_columns: int) -> str:
    """Why a data row (split on commas) failed the row pattern, for the error message."""
    if len(fields) != n_columns + 1:
        return f"expected {n_columns} values, found {len(fields) - 1}"
    if not (fields[0].isascii() and fields[0].isdigit()):
        return f"date code {fields[0]!r} is not a number"
    if not all(_NUMBER.fullmatch(f) for f in fields[1:]):
        return "non-numeric value"
    return "malformed row"


def _parse_dates(codes: list[str], first_line: int, label: str) -> tuple[pd.DatetimeIndex, int]:
    """YYYYMMDD -> that day, YYYYMM -> last day of the month, YYYY -> 31 December."""
    width = len(codes[0])
    for offset, code in enumerate(codes):
        if len(code) != width or width not in _DATE_FORMATS:
            raise DataFormatError(
                f"{label}, line {first_line + offset}: date code {code!r} is not "
                f"YYYYMMDD, YYYYMM or YYYY like the rows above it"
            )
    parsed = pd.to_datetime(pd.Series(codes), format=_DATE_FORMATS[width], errors="coerce")
    if parsed.isna().any():
        offset = int(np.flatnonzero(parsed.isna().to_numpy())[0])
        raise DataFormatError(
            f"{label}, line {first_line + offset}: invalid date {codes[offset]!r}"
        )
    index = pd.DatetimeIndex(parsed).as_unit("ns")
    if width == 6:
        index = index + pd.offsets.MonthEnd(0)
    elif width == 4:
        index = index + pd.offsets.YearEnd(0)
    return index.rename("date"), width


def _check_order(index: pd.DatetimeIndex, codes: list[str], first_line: int, label: str) -> None:
    """Require strictly increasing dates: a repeat or a step back means a corrupt file."""
    if len(index) < 2:
        return
    steps = index[1:] <= index[:-1]
    if steps.any():
        i = int(np.flatnonzero(steps)[0]) + 1
        kind = "duplicate date" if index[i] == index[i - 1] else "date out of order"
        raise DataFormatError(
            f"{label}, line {first_line + i}: {kind} {codes[i]} after {codes[i - 1]}"
        )


def _parse_annual(lines: list[str], headers: list[int], label: str) -> pd.DataFrame | None:
    """The table whose title mentions "annual" (not the free text at the top), or None."""
    for header in headers:
        if "annual" not in _title_above(lines, header).lower():
            continue
        frame, width = _parse_table(lines, header, label)
        if width != 4:
            raise DataFormatError(f"{label}, line {header + 2}: annual table needs YYYY dates")
        return frame
    return None


def _title_above(lines: list[str], header: int) -> str:
    """The non-blank lines directly above a header row, joined (titles may span lines)."""
    start = header
    while start > 0 and lines[start - 1].strip():
        start -= 1
    return " ".join(line.strip() for line in lines[start:header])


def _release(description: str) -> str:
    """``"... using the 202510 CRSP database"`` -> ``"202510 CRSP"``."""
    match = _RELEASE.search(description)
    return f"{match.group(1)} {match.group(2)}" if match else ""


def _frequency(width: int, name: str, index: pd.DatetimeIndex) -> str:
    """Weekly and daily files both use YYYYMMDD: tell them apart by name, else by spacing."""
    if width == 6:
        return "M"
    lowered = name.lower()
    if "weekly" in lowered:
        return "W"
    if "daily" in lowered or len(index) < 2:
        return "D"
    median_gap = pd.Series(index).diff().median()
    return "W" if median_gap >= pd.Timedelta(days=5) else "D"


# ------------------------------------------------------------------------------ files


def read_french_zip(data: bytes, name: str = "") -> FrenchFile:
    """Parse a library zip archive holding one CSV member (``.csv`` or ``.CSV``).

    Parameters
    ----------
    data : bytes
        The archive as downloaded.
    name : str
        Dataset name; defaults to the member's file name without extension.

    Raises
    ------
    DataFormatError
        For a damaged or truncated archive, or not exactly one CSV member.
    """
    label = name or "zip archive"
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            member = _csv_member(archive, label)
            raw = archive.read(member)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError,
            NotImplementedError) as exc:
        raise DataFormatError(f"{label}: not a readable zip archive ({exc})") from exc
    return parse_french_csv(_decode(raw), name or Path(member.filename).stem)


def _csv_member(archive: zipfile.ZipFile, label: str) -> zipfile.ZipInfo:
    """The single CSV member of an archive."""
    members = [
        m for m in archive.infolist()
        if not m.is_dir() and m.filename.lower().endswith(".csv")
        and not m.filename.startswith("__MACOSX/")
    ]
    if len(members) != 1:
        names = ", ".join(m.filename for m in archive.infolist()) or "nothing"
        raise DataFormatError(f"{label}: expected one CSV file in the zip, found {names}")
    if members[0].file_size > _MAX_MEMBER_BYTES:
        raise DataFormatError(f"{label}: {members[0].filename} is implausibly large")
    return members[0]


def _decode(raw: bytes) -> str:
    # The library writes ASCII; latin-1 as fallback never fails, so odd bytes end up
    # in a parse error with a line number rather than a UnicodeDecodeError.
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def dataset_name(file_name: str) -> str:
    """``"F-F_Research_Data_Factors_daily_CSV.zip"`` -> ``"F-F_Research_Data_Factors_daily"``."""
    stem = Path(file_name).stem
    return stem[:-4] if stem.upper().endswith("_CSV") else stem


def read_french_path(path: str | PathLike[str]) -> FrenchFile:
    """Parse a library file on disk: a ``.zip`` archive or an unzipped ``.csv``/``.CSV``.

    Raises
    ------
    DataUnavailableError
        When the file does not exist or cannot be read.
    DataFormatError
        For another extension or an unparsable file.
    """
    file = Path(path)
    suffix = file.suffix.lower()
    if suffix not in (".zip", ".csv"):
        raise DataFormatError(f"{file}: expected a .zip or .csv file")
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise DataUnavailableError(f"{file}: cannot read file ({exc.strerror or exc})") from exc
    name = dataset_name(file.name)
    if suffix == ".zip":
        return read_french_zip(data, name)
    return parse_french_csv(_decode(data), name)


# -------------------------------------------------------------------------- combining


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


def combine_factor_files(
    files: Mapping[str, FrenchFile], factors: Sequence[str], frequency: str, source: str
) -> FactorData:
    """Assemble the requested factors plus ``RF`` from parsed files.

    Parameters
    ----------
    files : mapping of str to FrenchFile
        Parsed files keyed by family (``"FF3"``, ``"FF5"``, ``"MOM"``); at least those
        named by :func:`families_for`.
    factors : sequence of str
        Factor names (aliases accepted); ``RF`` is always appended, never duplicated.
    frequency : {"D", "W", "M"}
        Expected frequency of every file used.
    source : str
        Source name recorded in the result and used in messages.

    Returns
    -------
    FactorData
        Decimal returns per period, columns in the requested order then ``RF``, on the
        dates common to all files used (inner join). Missing values stay NaN.
    """
    wanted = _requested(factors)
    families = families_for(wanted)
    used = {family: _family_file(files, family, frequency, source) for family in families}
    frame = _columns(used[families[0]], [f for f in wanted if f != "MOM"] + ["RF"], source)
    if "MOM" in used:
        frame = frame.join(_columns(used["MOM"], ["MOM"], source), how="inner")
    if frame.empty:
        raise DataUnavailableError(f"{source}: the factor files have no dates in common")
    frame = frame[[*wanted, "RF"]].astype("float64")
    frame.index.name = "date"
    releases = list(dict.fromkeys(f.release for f in used.values() if f.release))
    notes = tuple(f"{f.name or family}: {f.release or 'release unknown'}"
                  for family, f in used.items())
    if len(releases) > 1:
        notes += ("factor files come from different releases",)
    return FactorData(
        returns=frame, frequency=frequency, source=source,
        release="; ".join(releases), notes=notes,
    )


def _family_file(
    files: Mapping[str, FrenchFile], family: str, frequency: str, source: str
) -> FrenchFile:
    file = files.get(family)
    if file is None:
        raise DataUnavailableError(f"{source}: no {family} factor file available")
    if file.frequency != frequency:
        raise DataFormatError(
            f"{source}: {file.name or family} holds {_FREQUENCY_NAMES.get(file.frequency)} "
            f"data, {_FREQUENCY_NAMES.get(frequency, frequency)} was expected"
        )
    return file


def _columns(file: FrenchFile, columns: list[str], source: str) -> pd.DataFrame:
    missing = [c for c in columns if c not in file.main.columns]
    if missing:
        raise DataFormatError(f"{source}: {file.name or 'file'} has no column {', '.join(missing)}")
    return file.main[columns]


# ---------------------------------------------------------------------------- sources


class _FrenchSource(FactorSource):
    """Shared logic: choose files, memoise them per process, combine them."""

    def __init__(self) -> None:
        # One lock for the memo: concurrent Excel recalculations must not download the
        # same file twice. Loads are serialised, which is fine for a handful of files.
        self._lock = threading.RLock()
        self._memo: dict[str, tuple[Hashable, FrenchFile]] = {}
        self._combined: dict[tuple, tuple[tuple[FrenchFile, ...], FactorData]] = {}

    @abstractmethod
    def _load_uncached(self, name: str) -> FrenchFile:
        """Produce a parsed file without consulting the in-process memo."""

    def _memo_key(self, name: str) -> Hashable:
        """What must be unchanged for a memoised file to be reused."""
        return name

    def load_file(self, name: str) -> FrenchFile:
        """The parsed file ``name`` (e.g. ``"F-F_Research_Data_Factors_daily"``).

        Loaded at most once per instance (while its memo key is unchanged).
        """
        with self._lock:
            hit = self._memo.get(name)
            if hit is not None and hit[0] == self._memo_key(name):
                return hit[1]
            file = self._load_uncached(name)
            # The key after loading: a failed refresh marks the file stale, and the stale
            # key is what the next call must match to reuse it without a new download.
            self._memo[name] = (self._memo_key(name), file)
            return file

    def dataset(self, family: str, frequency: str, region: str = "US") -> str:
        """The file name for a family at a frequency, or raise if it is not published."""
        name = regional_dataset(region, family, frequency)
        if name is None:
            offered = [_FREQUENCY_NAMES[f] for f in ("D", "W", "M")
                       if regional_dataset(region, family, f)]
            where = "" if canonical_region(region) == "US" else f" for {canonical_region(region)}"
            raise DataUnavailableError(
                f"{self.name}: {family} factors{where} are not published at "
                f"{_FREQUENCY_NAMES[frequency]} frequency (available: {', '.join(offered)})"
            )
        return name

    def get_factors(self, factors: Sequence[str], frequency: str, region: str = "US") -> FactorData:
        """Decimal factor returns plus ``RF``, full history; see :func:`combine_factor_files`.

        ``region`` selects the library's international files (see :data:`REGIONS`).

        Raises
        ------
        DataUnavailableError
            When the library does not publish a needed family at ``frequency`` (e.g. FF5
            weekly) or a file cannot be obtained.
        """
        freq = check_frequency(frequency)
        names = {family: self.dataset(family, freq, region) for family in families_for(factors)}
        files = {family: self.load_file(name) for family, name in names.items()}
        # Many worksheet cells ask for the same combination: reuse the combined frame
        # (the same object) while the underlying parsed files are the same objects.
        key = (tuple(factors), freq, canonical_region(region))
        with self._lock:
            hit = self._combined.get(key)
            if hit is not None and all(a is b for a, b in zip(hit[0], files.values())):
                return hit[1]
            data = combine_factor_files(files, factors, freq, self.name)
            self._combined[key] = (tuple(files.values()), data)
            return data


class FrenchLibrary(_FrenchSource):
    """Factors downloaded from the Kenneth R. French Data Library.

    Parameters
    ----------
    base_url : str
        Folder URL of the library's files; ``<base_url><name>_CSV.zip`` is fetched.
    store : object, optional
        Persistent cache (wired in by :meth:`_cached` / :meth:`_save`); None disables it.
    ttl_days : float
        Age in days after which cached files should be refreshed (used by the store).
    offline : bool
        Never download; only cached or memoised files are served.
    timeout : float
        Per-attempt socket timeout in seconds.
    retries : int
        Retries after the first attempt for transient HTTP faults.
    """

    name = SOURCE_NAME

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        *,
        store: object | None = None,
        ttl_days: float = 30.0,
        offline: bool = False,
        timeout: float = 30.0,
        retries: int = 3,
    ) -> None:
        super().__init__()
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.store = store
        self.ttl_days = ttl_days
        self.offline = offline
        self.timeout = timeout
        self.retries = retries
        self._stale: dict[str, str] = {}

    def url_for(self, name: str) -> str:
        """Download URL of the dataset ``name``."""
        return f"{self.base_url}{name}_CSV.zip"

    def _memo_key(self, name: str) -> Hashable:
        # A stale copy (refresh failed) is memoised only briefly, so a recalculating
        # workbook retries the network every few minutes instead of on every cell.
        if name in self._stale:
            return ("stale", name, int(time.time() // STALE_RETRY_SECONDS))
        # Expire fresh copies too, so a workbook left open for weeks sees new releases.
        return ("fresh", name, int(time.time() // max(self.ttl_days * 86400.0, 1.0)))

    def _load_uncached(self, name: str) -> FrenchFile:
        cached = self._cached(name)
        if cached is not None and (self.offline or cached[1] < self.ttl_days * 86400.0):
            self._stale.pop(name, None)
            return cached[0]
        if self.offline:
            raise DataUnavailableError(f"{self.name}: {name} is not cached and offline mode is on")
        try:
            data = _http.fetch_bytes(
                self.url_for(name), source=self.name, timeout=self.timeout, retries=self.retries
            )
            try:
                file = read_french_zip(data, name)
            except DataFormatError as exc:
                raise DataFormatError(f"{self.name}: downloaded file is unusable: {exc}") from exc
        except DataUnavailableError as exc:
            if cached is None:
                raise
            self._stale[name] = (
                f"STALE: {name} refresh failed ({exc}); serving the cached copy of "
                f"{cached[2]:%Y-%m-%d %H:%M} UTC"
            )
            return cached[0]
        self._save(name, file)
        self._stale.pop(name, None)
        return file

    def get_factors(self, factors: Sequence[str], frequency: str, region: str = "US") -> FactorData:
        data = super().get_factors(factors, frequency, region)
        freq = check_frequency(frequency)
        used = [self.dataset(f, freq, region) for f in families_for(factors)]
        with self._lock:
            notes = tuple(self._stale[n] for n in used if n in self._stale)
        if not notes:
            return data
        return replace(data, stale=True, notes=(*data.notes, *notes))

    def _cached(self, name: str) -> tuple[FrenchFile, float, datetime] | None:
        """The cached copy of ``name`` with its age in seconds and fetch time, or None."""
        if self.store is None:
            return None
        hit = self.store.get_frame(_cache_key(name))
        if hit is None:
            return None
        meta = hit.meta
        file = FrenchFile(
            name=name, description=meta.get("description", ""), release=meta.get("release", ""),
            frequency=meta.get("frequency", ""), main=hit.frame, annual=None,
        )
        return file, hit.age_seconds, hit.fetched_at

    def _save(self, name: str, file: FrenchFile) -> None:
        """Keep the main table of a freshly downloaded file (the annual table is not used)."""
        if self.store is None:
            return
        meta = {"description": file.description, "release": file.release,
                "frequency": file.frequency, "url": self.url_for(name)}
        self.store.put_frame(_cache_key(name), file.main, meta)


def _cache_key(name: str) -> str:
    return f"french:{name}"


class FrenchFiles(_FrenchSource):
    """Factors from a directory of manually downloaded library files.

    Files keep the library's names: ``F-F_Research_Data_Factors_daily_CSV.zip`` or the
    unzipped ``F-F_Research_Data_Factors_daily.csv`` (extensions in any case). A file
    changed on disk is re-read on the next request.

    Parameters
    ----------
    directory : str or path
        The folder holding the files.
    """

    def __init__(self, directory: str | PathLike[str]) -> None:
        super().__init__()
        self.directory = Path(directory).expanduser()
        self.name = f"local French files ({self.directory})"

    @staticmethod
    def candidates(name: str) -> tuple[str, ...]:
        """Accepted file names for dataset ``name``, in order of preference."""
        return (f"{name}_CSV.zip", f"{name}.zip", f"{name}.csv")

    def path_for(self, name: str) -> Path:
        """The file serving dataset ``name`` (case-insensitive match).

        Raises
        ------
        DataUnavailableError
            When the directory or the file is missing; the message names the file names
            that would be accepted.
        """
        if not self.directory.is_dir():
            raise DataUnavailableError(f"{self.name}: directory not found")
        present = {p.name.lower(): p for p in self.directory.iterdir() if p.is_file()}
        for candidate in self.candidates(name):
            if candidate.lower() in present:
                return present[candidate.lower()]
        raise DataUnavailableError(
            f"{self.name}: {name} not found; expected {' or '.join(self.candidates(name))}"
        )

    def _memo_key(self, name: str) -> Hashable:
        path = self.path_for(name)
        stat = path.stat()
        return (str(path), stat.st_mtime_ns, stat.st_size)

    def _load_uncached(self, name: str) -> FrenchFile:
        return read_french_path(self.path_for(name))
