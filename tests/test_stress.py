"""Several processes (as several Excel instances would) share one cache for a bounded time.

Each worker repeatedly builds fresh sources (nothing in memory), so every call reads the
shared SQLite cache, and with a tiny time-to-live refreshes factor files from a loopback
server, writing to the cache while the others read. No error may reach a worker, and every
result must equal the single-process result bit for bit.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from xlfactor.data.memo import forget_all

ARGS = [("AAPL", "FF3"), ("MSFT", "CARHART4"), ("JPM", "CAPM"), ("XOM", "FF3")]
WORKERS = 4
SECONDS = 4.0


def _worker(env: dict[str, str], start, seconds: float, results) -> None:
    import os

    os.environ.update(env)
    try:
        from xlfactor import api

        start.wait(60)
        out: dict[str, list[float]] = {}
        calls = 0
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for ticker, model in ARGS:
                forget_all()  # like a new Excel process: memory empty
                res = api.fit(ticker, model, "2019-01-01", "2021-12-31")
                params = res.params.iloc[0].tolist()
                if ticker in out and out[ticker] != params:
                    raise AssertionError(f"{ticker}: result changed between calls")
                out[ticker] = params
                calls += 1
        results.put((out, calls, None))
    except BaseException:  # noqa: BLE001 - report everything to the parent
        results.put(({}, 0, traceback.format_exc()))


@pytest.fixture()
def server(french_dir: Path):
    root = french_dir / "vintage_202510" / "zip"
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            body = (root / self.path.lstrip("/")).read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/", hits
    srv.shutdown()
    srv.server_close()


def test_four_processes_share_one_cache(server, shared_data, tmp_path):
    url, hits = server
    env = {
        "XLFACTOR_CACHE_DIR": str(tmp_path / "cache"),
        "XLFACTOR_FRENCH_URL": url,
        "XLFACTOR_PRICE_DIR": str(shared_data / "yahoo_csv" / "yfinance_autoadjust_CarlosGBerreteaga_2025-10-08"),
        "XLFACTOR_FACTOR_TTL": "0.00001",  # about a second: refreshes race with reads
    }
    context = multiprocessing.get_context("spawn")
    single_start, single_results = context.Event(), context.Queue()
    single_start.set()
    reference = context.Process(target=_worker, args=(env, single_start, 0.1, single_results))
    reference.start()
    expected, _, error = single_results.get(timeout=120)
    reference.join(30)
    assert error is None, error

    start, results = context.Event(), context.Queue()
    procs = [context.Process(target=_worker, args=(env, start, SECONDS, results)) for _ in range(WORKERS)]
    for p in procs:
        p.start()
    start.set()
    reports = [results.get(timeout=180) for _ in procs]
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    errors = [e for _, _, e in reports if e]
    assert errors == [], errors[0] if errors else ""
    for out, calls, _ in reports:
        assert calls >= len(ARGS)
        for ticker, params in out.items():
            np.testing.assert_array_equal(params, expected[ticker])  # bit for bit
    assert len(hits) > 2  # refreshes really happened while others read
    print(f"calls per worker: {[c for _, c, _ in reports]}, French downloads: {len(hits)}")
