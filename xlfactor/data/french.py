"""Fama-French factors from the Kenneth R. French Data Library.

Which file holds which factors (US and international regions), how files combine into a
model's factor set, and the two sources: :class:`FrenchLibrary` downloads the files (with
the SQLite cache), :class:`FrenchFiles` reads copies saved by hand. Parsing the library's
CSV layout is :mod:`xlfactor.data.french_csv`.
"""

from __future__ import annotations

import threading
import time
from abc import abstractmethod
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from os import PathLike
from pathlib import Path
from types import MappingProxyType

import pandas as pd

from xlfactor.data import http as _http
from xlfactor.data.base import FactorData, FactorSource
from xlfactor.data.french_csv import (  # noqa: F401 - re-exported: the parser's public names
    MISSING_CODES,
    FrenchFile,
    check_named_frequency,
    dataset_name,
    parse_french_csv,
    read_french_path,
    read_french_zip,
)
from xlfactor.data.memo import Memo
from xlfactor.data.reachability import REACHABILITY, SourceUnreachableError
from xlfactor.data.settings import FRENCH_BASE_URL
from xlfactor.domain.errors import (
    DataFormatError,
    DataUnavailableError,
    FileMissingError,
    NotPublishedError,
)
from xlfactor.domain.frequency import FREQUENCIES, FREQUENCY_WORDS, check_frequency
from xlfactor.domain.models import canonical_factor
from xlfactor.domain.regions import REGIONS, canonical_region

#: Seconds a stale cached file is reused before the library is asked again.
STALE_RETRY_SECONDS = 300

SOURCE_NAME = "Kenneth French Data Library"
DEFAULT_BASE_URL = FRENCH_BASE_URL

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
        Decimal returns per period, columns in the requested order then ``RF``, from the
        latest first date to the earliest last date of the files used. A date inside that
        span that one file lists and another does not is kept with the other file's
        columns missing (NaN), like a missing-value code: the day stays in the factor
        calendar, so that no return is formed across it.
    """
    wanted = _requested(factors)
    families = families_for(wanted)
    used = {family: _family_file(files, family, frequency, source) for family in families}
    frame = _columns(used[families[0]], [f for f in wanted if f != "MOM"] + ["RF"], source)
    if "MOM" in used:
        mom = _columns(used["MOM"], ["MOM"], source)
        first = max(frame.index[0], mom.index[0]) if len(frame) and len(mom) else None
        last = min(frame.index[-1], mom.index[-1]) if first is not None else None
        frame = frame.join(mom, how="outer")
        frame = frame.loc[first:last] if first is not None and first <= last else frame.iloc[:0]
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
            f"{source}: {file.name or family} holds {FREQUENCY_WORDS.get(file.frequency)} "
            f"data, {FREQUENCY_WORDS.get(frequency, frequency)} was expected"
        )
    try:
        check_contents(file, file.name)
    except DataFormatError as exc:
        raise DataFormatError(f"{source}: {exc}") from exc
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
        # Memos under the policy of xlfactor.data.memo.
        self._files = Memo("parsed French files", 64)
        self._combined = Memo("combined factor sets", 64)

    @abstractmethod
    def _load_uncached(self, name: str) -> FrenchFile:
        """Produce a parsed file without consulting the in-process memo."""

    def _memo_token(self, name: str) -> Hashable:
        """What must be unchanged for a memoised file to be reused."""
        return name

    def _memo_lifetime(self, name: str) -> float | None:
        """Seconds a memoised file may be reused at most (None: while its token holds)."""
        return None

    def load_file(self, name: str) -> FrenchFile:
        """The parsed file ``name`` (e.g. ``"F-F_Research_Data_Factors_daily"``).

        Loaded at most once per instance while its memo token holds and its lifetime
        lasts (see :mod:`xlfactor.data.memo`).
        """
        with self._lock:
            file = self._files.get(name, self._memo_token(name))
            if file is not None:
                return file
            file = self._load_uncached(name)
            # The token after loading: a failed refresh marks the file stale, and the stale
            # token is what the next call must match to reuse it without a new download.
            life = self._memo_lifetime(name)
            self._files.put(name, file, self._memo_token(name),
                            expires=None if life is None else time.time() + life)
            return file

    def dataset(self, family: str, frequency: str, region: str = "US") -> str:
        """The file name for a family at a frequency, or raise if it is not published."""
        name = regional_dataset(region, family, frequency)
        if name is None:
            offered = [FREQUENCY_WORDS[f] for f in FREQUENCIES
                       if regional_dataset(region, family, f)]
            where = "" if canonical_region(region) == "US" else f" for {canonical_region(region)}"
            raise NotPublishedError(
                f"{self.name}: {family} factors{where} are not published at "
                f"{FREQUENCY_WORDS[frequency]} frequency (available: {', '.join(offered)})"
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
            data = self._combined.get(key, tuple(files.values()))
            if data is None:
                data = combine_factor_files(files, factors, freq, self.name)
                self._combined.put(key, data, tuple(files.values()))
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
    retry_after : float
        Seconds during which the library is not asked again once it did not answer
        (see :mod:`xlfactor.data.reachability`).
    download_wait : float
        Seconds one whole download may take, however steadily the server sends; at
        least ``timeout`` is allowed (:attr:`transfer_wait`).
    max_bytes : int
        Largest file accepted, in bytes; a larger one is refused while it streams.
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
        retry_after: float | None = None,
        download_wait: float = _http.DOWNLOAD_WAIT,
        max_bytes: int = _http.FRENCH_MAX_BYTES,
    ) -> None:
        super().__init__()
        self.retry_after = retry_after
        self.download_wait, self.max_bytes = download_wait, max_bytes
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.store = store
        self.ttl_days = ttl_days
        self.offline = offline
        self.timeout = timeout
        self.retries = retries
        self._stale: dict[str, str] = {}

    @property
    def transfer_wait(self) -> float:
        """Seconds one download may take in all: ``download_wait``, but never less than
        the network wait (``timeout``), so raising the network wait lets a slow download
        finish too."""
        return max(self.download_wait, self.timeout)

    def url_for(self, name: str) -> str:
        """Download URL of the dataset ``name``."""
        return f"{self.base_url}{name}_CSV.zip"

    def _memo_token(self, name: str) -> Hashable:
        return "stale" if name in self._stale else "fresh"

    def _memo_lifetime(self, name: str) -> float:
        # A stale copy (refresh failed) is memoised only briefly, so a recalculating
        # workbook retries the network every few minutes instead of on every cell.
        if name in self._stale:
            return float(STALE_RETRY_SECONDS)
        # Expire fresh copies too, so a workbook left open for weeks sees new releases.
        return max(self.ttl_days * 86400.0, 1.0)

    def _load_uncached(self, name: str) -> FrenchFile:
        cached = self._cached(name)
        if cached is not None and (self.offline or cached[1] < self.ttl_days * 86400.0):
            self._stale.pop(name, None)
            return cached[0]
        if self.offline:
            raise DataUnavailableError(f"{self.name}: {name} is not cached and offline mode is on")
        try:
            data = self._download(name)
            try:
                file = read_french_zip(data, name)
                check_contents(file, name)
            except DataFormatError as exc:
                raise DataFormatError(f"{self.name}: downloaded file is unusable: {exc}") from exc
        except DataUnavailableError as exc:
            if cached is None:
                if isinstance(exc, SourceUnreachableError):
                    raise exc.nothing_cached(f"factor file {name}") from exc
                raise
            self._stale[name] = (
                f"STALE: {name} refresh failed ({exc}); serving the cached copy of "
                f"{cached[2]:%Y-%m-%d %H:%M} UTC"
            )
            return cached[0]
        self._save(name, file)
        self._stale.pop(name, None)
        return file

    def _download(self, name: str) -> bytes:
        """The zip of ``name``; fails at once while the library is known to be unreachable."""
        REACHABILITY.check(self.name)
        try:
            return _http.fetch_bytes(self.url_for(name), source=self.name, timeout=self.timeout,
                                     retries=self.retries, deadline=self.timeout,
                                     transfer_wait=self.transfer_wait, max_bytes=self.max_bytes)
        except SourceUnreachableError as exc:
            REACHABILITY.report(exc, self.retry_after)
            raise

    def get_factors(self, factors: Sequence[str], frequency: str, region: str = "US") -> FactorData:
        data = super().get_factors(factors, frequency, region)
        freq = check_frequency(frequency)
        used = [self.dataset(f, freq, region) for f in families_for(factors)]
        with self._lock:
            notes = tuple(self._stale[n] for n in used if n in self._stale)
        problem = getattr(self.store, "problem", None)
        if problem:
            data = replace(data, warnings=(*data.warnings, problem))
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
        try:  # a copy cached before the contents and dates were checked is not served
            check_contents(file, name)
            check_named_frequency(name, file.main.index, name)
        except DataFormatError:
            return None
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
        found = [present[c.lower()] for c in self.candidates(name) if c.lower() in present]
        if len(found) > 1:
            raise DataFormatError(
                f"{self.name}: two files for {name}: {found[0].name} and {found[1].name}; "
                "keep one")
        if found:
            return found[0]
        raise FileMissingError(
            f"{self.name}: {name} not found; expected {' or '.join(self.candidates(name))}"
        )

    def _memo_token(self, name: str) -> Hashable:
        path = self.path_for(name)
        stat = path.stat()
        return (str(path), stat.st_mtime_ns, stat.st_size)

    def _load_uncached(self, name: str) -> FrenchFile:
        path = self.path_for(name)
        file = read_french_path(path)
        try:
            check_contents(file, name)
        except DataFormatError as exc:
            raise DataFormatError(f"{path.name}: {exc}") from exc
        return file
