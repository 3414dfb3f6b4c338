"""Shared fixtures.

Tests that read real market data use ``shared_data``. ``../shared/data`` lies beside the
project; under CI (``CI=true``) its absence is a failure, elsewhere a skip.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("XLFACTOR_SHARED_DATA", PROJECT_ROOT.parent / "shared" / "data"))


def _require_shared_data() -> Path:
    if SHARED_DATA.is_dir():
        return SHARED_DATA
    message = f"real test data not found at {SHARED_DATA}"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(message + " (required under CI)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Root of the real recorded data (``../shared/data``)."""
    return _require_shared_data()


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
    from xlfactor.sources.reachability import REACHABILITY

    REACHABILITY.clear()
    yield
    REACHABILITY.clear()
