"""Shared fixtures.

Tests that read real market data use ``shared_data``: the recorded files in ``tests/data``
(see its README for their sources), laid out with the French library's CSVs unzipped from
its own zips. ``XLFACTOR_SHARED_DATA`` may point at another copy of the same layout.
"""

from __future__ import annotations

import os
import shutil
import zipfile
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
PROJECT_DATA = PROJECT_ROOT / "tests" / "data"


@pytest.fixture(scope="session")
def shared_data(tmp_path_factory) -> Path:
    """Root of the real recorded data: a copy of ``tests/data`` with
    ``kenneth_french/vintage_202510/csv`` holding the CSV members of the zips beside it
    (the library's own files, unzipped byte for byte)."""
    other = os.environ.get("XLFACTOR_SHARED_DATA")
    if other:
        return Path(other)
    if not PROJECT_DATA.is_dir():
        pytest.fail(f"the recorded test data are missing: {PROJECT_DATA}")
    root = tmp_path_factory.mktemp("recorded") / "data"
    shutil.copytree(PROJECT_DATA, root)
    vintage = root / "kenneth_french" / "vintage_202510"
    (vintage / "csv").mkdir()
    for archive in sorted((vintage / "zip").glob("*_CSV.zip")):
        with zipfile.ZipFile(archive) as z:
            (member,) = z.namelist()
            name = archive.name.removesuffix("_CSV.zip") + ".csv"
            (vintage / "csv" / name).write_bytes(z.read(member))
    return root


@pytest.fixture(scope="session")
def french_dir(shared_data: Path) -> Path:
    return shared_data / "kenneth_french"


@pytest.fixture(scope="session")
def yahoo_csv_dir(shared_data: Path) -> Path:
    return shared_data / "yahoo_csv"


@pytest.fixture(scope="session")
def chart_json_dir(shared_data: Path) -> Path:
    return shared_data / "yahoo_chart_json"


@pytest.fixture()
def tmp_cache(tmp_path, monkeypatch) -> Path:
    """An empty, private cache directory; also set as the default through the environment."""
    path = tmp_path / "cache"
    monkeypatch.setenv("XLFACTOR_CACHE_DIR", str(path))
    return path


@pytest.fixture(autouse=True)
def _no_outage_carries_over():
    """An unreachable source is remembered process-wide: each test starts with none."""
    from xlfactor.data.reachability import REACHABILITY

    REACHABILITY.clear()
    yield
    REACHABILITY.clear()


#: The recorded yfinance price files and 2025 French zips, as folders saved by hand.
RECORDED_PRICES = "yahoo_csv/yfinance_autoadjust_CarlosGBerreteaga_2025-10-08"
RECORDED_FACTORS = "kenneth_french/vintage_202510/zip"


@pytest.fixture()
def recorded_sources(shared_data, tmp_cache, monkeypatch) -> Path:
    """Prices and factors from the recorded files (XLFACTOR_PRICE_DIR / _FRENCH_DIR), a
    private cache; returns the data root."""
    monkeypatch.setenv("XLFACTOR_PRICE_DIR", str(shared_data / RECORDED_PRICES))
    monkeypatch.setenv("XLFACTOR_FRENCH_DIR", str(shared_data / RECORDED_FACTORS))
    monkeypatch.delenv("XLFACTOR_SOURCE", raising=False)
    return shared_data
