"""Network faults end to end: a failing French library behind a real loopback server.

When a refresh fails and cached data exist, the result is served and visibly marked
stale in FACTOR_STATS, FACTOR_INFO and the CLI; when nothing is cached the error names
the source; a bad download never replaces the cached copy.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from xlfactor import api, status, udfs
from xlfactor.data import http as http_mod
from xlfactor.data.memo import forget_all
from xlfactor.data.store import Store

FF3 = "/F-F_Research_Data_Factors_daily_CSV.zip"


class Faulty(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, root: Path) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.root = root
        self.mode = "ok"
        self.hits: list[str] = []


class Handler(BaseHTTPRequestHandler):
    server: Faulty

    def do_GET(self) -> None:
        self.server.hits.append(self.path)
        mode = self.server.mode
        body = (self.server.root / self.path.lstrip("/")).read_bytes()
        status_code, headers = 200, {}
        if mode == "503":
            status_code, body = 503, b"busy"
        elif mode == "429":
            status_code, body, headers = 429, b"slow down", {"Retry-After": "1"}
        elif mode == "html":
            body = b"<!DOCTYPE html><html><body>Maintenance</body></html>"
        elif mode == "truncated":
            body = body[: len(body) // 3]
        elif mode == "layout":  # a CSV whose layout changed beyond recognition
            body = _zip_of(b"Date;Market;Size\r\n2025-01-02;0.1;0.2\r\n")
        self.send_response(status_code)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


def _zip_of(text: bytes) -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("F-F_Research_Data_Factors_daily.csv", text)
    return buffer.getvalue()


@pytest.fixture()
def server(french_dir: Path) -> Iterator[Faulty]:
    srv = Faulty(french_dir / "vintage_202510" / "zip")
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture()
def env(server: Faulty, tmp_path: Path, shared_data: Path, monkeypatch) -> dict[str, str]:
    values = {
        "XLFACTOR_FRENCH_URL": f"http://127.0.0.1:{server.server_address[1]}/",
        "XLFACTOR_CACHE_DIR": str(tmp_path / "cache"),
        "XLFACTOR_PRICE_DIR": str(shared_data / "yahoo_csv" / "yfinance_autoadjust_CarlosGBerreteaga_2025-10-08"),
        "XLFACTOR_FACTOR_TTL": "0.0000001",  # every call wants a refresh
    }
    for k, v in values.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setattr(http_mod, "sleep", lambda s: None)
    forget_all()
    monkeypatch.setattr(status, "_STALE", {})
    yield values
    forget_all()


ARGS = ("AAPL", "FF3", "2020-01-01", "2023-01-01", "D")


def _fresh_process() -> None:
    """What a new Excel session sees: nothing in memory, everything in the cache."""
    forget_all()


@pytest.mark.parametrize("fault", ["503", "429", "html", "truncated", "layout"])
def test_failed_refresh_serves_cache_marked_stale_everywhere(server, env, fault):
    good = udfs.FACTOR_BETAS(*ARGS[:4])
    assert good[0][0] == "Ticker" and isinstance(good[1][1], float)
    store = Store(env["XLFACTOR_CACHE_DIR"])
    before = store.get_frame("french:F-F_Research_Data_Factors_daily").frame

    server.mode = fault
    _fresh_process()
    stats = udfs.FACTOR_STATS(*ARGS)
    labels = [row[0] for row in stats]
    assert "Warning" in labels, stats[:10]
    warning = stats[labels.index("Warning")][1]
    assert "STALE" in warning
    betas = udfs.FACTOR_BETAS(*ARGS[:4])
    np.testing.assert_array_equal(betas[1][1:], good[1][1:])  # the cached data, unchanged
    info = {row[0]: row[1] for row in udfs.FACTOR_INFO()}
    assert any(k.startswith("STALE: Kenneth French Data Library") for k in info), info
    after = store.get_frame("french:F-F_Research_Data_Factors_daily").frame
    np.testing.assert_array_equal(after.to_numpy(), before.to_numpy())  # never overwritten
    assert len(server.hits) >= 2  # it did try


def test_nothing_cached_names_the_source(server, env):
    server.mode = "503"
    cell = udfs.FACTOR_BETAS(*ARGS[:4])
    assert cell[0][0].startswith("#N/A Kenneth French Data Library: HTTP 503")
    with pytest.raises(Exception, match="Kenneth French Data Library"):
        api.fit(*ARGS)
    assert Store(env["XLFACTOR_CACHE_DIR"]).keys("french:") == []


def test_connection_refused_without_cache(env, monkeypatch):
    monkeypatch.setenv("XLFACTOR_FRENCH_URL", "http://127.0.0.1:9/")  # discard port: refused
    _fresh_process()
    cell = udfs.FACTOR_BETAS(*ARGS[:4])
    assert cell[0][0].startswith("#N/A offline: Kenneth French Data Library unreachable "
                                 "(connection refused")
    assert cell[0][0].endswith("press Refresh when online")
    assert "Traceback" not in cell[0][0]


def test_cli_shows_stale(server, env):
    udfs.FACTOR_BETAS(*ARGS[:4])
    server.mode = "503"
    run_env = {**os.environ, **env}
    out = subprocess.run([sys.executable, "-m", "xlfactor.cli", "betas", "AAPL", "--start",
                          "2020-01-01", "--end", "2023-01-01", "-q"],
                         capture_output=True, text=True, env=run_env, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    assert "STALE" in out.stdout and "HTTP 503" in out.stdout


def test_offline_mode_makes_no_request(server, env, monkeypatch):
    udfs.FACTOR_BETAS(*ARGS[:4])
    hits = len(server.hits)
    monkeypatch.setenv("XLFACTOR_OFFLINE", "1")
    _fresh_process()
    table = udfs.FACTOR_BETAS(*ARGS[:4])
    assert isinstance(table[1][1], float)
    assert len(server.hits) == hits
