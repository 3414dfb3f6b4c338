"""Offline stand-ins at the network boundary, for the network-economy benchmark.

Yahoo: yfinance's own HTTP method (``YfData.get``) answers from recorded chart bodies, so
every request yfinance would send is counted while its parsing runs for real. French
library: a real HTTP server on 127.0.0.1 serving the recorded zips, counting hits.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import unquote, urlparse

BODIES = {
    "AAPL": "chart-AAPL-2020-08-31-to-2020-11-07.body.json",
    "MSFT": "historical-via-chart-MSFT-dividends-2021-02-01-to-2022-01-31.body.json",
    "NVDA": "historical-via-chart-NVDA-split-2021-02-01-to-2022-01-31.body.json",
    "TSLA": "historical-via-chart-dividends-TSLA-no-dividends.body.json",
}
NOT_FOUND = ('{"chart":{"result":null,"error":{"code":"Not Found",'
             '"description":"No data found, symbol may be delisted"}}}')


def _response(url: str, status: int, text: str):
    from yfinance._http import requests as backend

    response = backend.Response()
    response.url = url
    response.status_code = status
    if hasattr(response, "_content"):
        response._content = text.encode()
        response.encoding = "utf-8"
    else:
        response.content = text.encode()
        response.ok = status < 400
    return response


@contextlib.contextmanager
def patched_yahoo(bodies: Path, every_symbol: bool = False) -> Iterator[SimpleNamespace]:
    """Serve recorded chart bodies at yfinance's HTTP boundary; record each request.

    With ``every_symbol`` a symbol without a recording gets TSLA's full daily history
    under its own name (a workbook of many tickers, all known to Yahoo)."""
    import yfinance.base
    import yfinance.cache
    import yfinance.data

    state = SimpleNamespace(requests=[])
    lock = threading.Lock()

    def get(self, url, params=None, timeout=30):
        with lock:
            state.requests.append(url)
        match = re.search(r"/v8/finance/chart/([^/]+)$", unquote(urlparse(url).path))
        if match and match.group(1) in BODIES:
            return _response(url, 200, (bodies / BODIES[match.group(1)]).read_text())
        if match and every_symbol:
            text = (bodies / BODIES["TSLA"]).read_text()
            return _response(url, 200, text.replace('"TSLA"', f'"{match.group(1)}"'))
        return _response(url, 404, NOT_FOUND)

    saved = (yfinance.data.YfData.get, yfinance.data.YfData.cache_get,
             yfinance.cache._TzCacheManager._tz_cache)
    yfinance.data.YfData.get = get
    yfinance.data.YfData.cache_get = get
    yfinance.cache._TzCacheManager._tz_cache = yfinance.cache._TzCacheDummy()
    try:
        yield state
    finally:
        (yfinance.data.YfData.get, yfinance.data.YfData.cache_get,
         yfinance.cache._TzCacheManager._tz_cache) = saved


@contextlib.contextmanager
def french_server(root: Path) -> Iterator[tuple[str, list[str]]]:
    """A loopback HTTP server for the French zips; yields its base URL and the hit log."""
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            file = root / self.path.lstrip("/")
            body = file.read_bytes() if file.is_file() else b"not found"
            self.send_response(200 if file.is_file() else 404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", hits
    finally:
        server.shutdown()
        server.server_close()
