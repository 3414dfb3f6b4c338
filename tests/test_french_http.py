"""Download tests against a real HTTP server on 127.0.0.1 serving the real library zips.

The server (``http.server.ThreadingHTTPServer`` on port 0, in a thread) serves the files of
``tests/data/kenneth_french/vintage_202510/zip`` and can be told, per path, to answer the
next requests with faults: an HTTP status, a truncated body, a slow answer, a redirect.
Waits between retries go through ``xlfactor.data.http.sleep``, replaced here by a
recorder, so retry tests take no time.
"""

from __future__ import annotations

import io
import socket
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from xlfactor.data import http as http_mod
from xlfactor.data.french import FrenchFiles, FrenchLibrary
from xlfactor.data.http import fetch_bytes, request_count, reset_request_count
from xlfactor.data.reachability import SourceUnreachableError
from xlfactor.data.store import Store
from xlfactor.domain.errors import DataFormatError, DataUnavailableError

FF3_DAILY = "/F-F_Research_Data_Factors_daily_CSV.zip"
FF5_DAILY = "/F-F_Research_Data_5_Factors_2x3_daily_CSV.zip"
FF3_MONTHLY = "/F-F_Research_Data_Factors_CSV.zip"
MOM_DAILY = "/F-F_Momentum_Factor_daily_CSV.zip"
SOURCE = "Kenneth French Data Library"

Action = str | tuple


class _State:
    """Files to serve, per-path fault plans and a log of the requests received."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.lock = threading.Lock()
        self.plans: dict[str, list[Action]] = {}
        self.log: list[tuple[str, str]] = []  # (path, User-Agent)

    def plan(self, path: str, *actions: Action) -> None:
        with self.lock:
            self.plans[path] = list(actions)

    def next_action(self, path: str, agent: str) -> Action:
        with self.lock:
            self.log.append((path, agent))
            queue = self.plans.get(path)
            return queue.pop(0) if queue else "ok"

    def paths(self) -> list[str]:
        with self.lock:
            return [path for path, _ in self.log]

    def reset(self) -> None:
        with self.lock:
            self.plans.clear()
            self.log.clear()


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        state = self.server.state
        action = state.next_action(self.path, self.headers.get("User-Agent", ""))
        kind, *args = action if isinstance(action, tuple) else (action,)
        try:
            if kind == "sleep":
                time.sleep(args[0])  # longer than the client's timeout
                kind = "ok"
            getattr(self, f"_{kind}")(*args)
        except OSError:
            pass  # the client gave up (timeout test): nothing to answer

    def _ok(self) -> None:
        file = self.server.state.root / self.path.lstrip("/")
        if not file.is_file():
            self._status(404)
            return
        self._send(200, file.read_bytes())

    def _serve(self, other: str) -> None:
        """Answer with the file of another path: a server that mixed up its files."""
        self._send(200, (self.server.state.root / other.lstrip("/")).read_bytes())

    def _body(self, data: bytes) -> None:
        self._send(200, data)

    def _status(self, code: int, headers: dict[str, str] | None = None) -> None:
        self._send(code, b"<html><body>error</body></html>", headers or {})

    def _redirect(self, location: str) -> None:
        self._send(302, b"", {"Location": location})

    def _truncate(self) -> None:
        """Announce the full length, send half, hang up."""
        body = (self.server.state.root / self.path.lstrip("/")).read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2])
        self.close_connection = True

    def _truncate_unannounced(self) -> None:
        """No Content-Length: the client cannot notice; the zip reader must."""
        body = (self.server.state.root / self.path.lstrip("/")).read_bytes()
        self.send_response(200)
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body[: len(body) // 2])
        self.close_connection = True

    def _send(self, code: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(code)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep test output clean


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # do not wait for handlers still sleeping in timeout tests

    def __init__(self, state: _State) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = state

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # broken pipes after client timeouts are expected


@pytest.fixture(scope="module")
def _running(french_dir: Path) -> Iterator[tuple[_Server, _State]]:
    state = _State(french_dir / "vintage_202510" / "zip")
    server = _Server(state)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, state
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture()
def server(_running: tuple[_Server, _State]) -> _State:
    _running[1].reset()
    reset_request_count()
    return _running[1]


@pytest.fixture()
def base_url(_running: tuple[_Server, _State]) -> str:
    return f"http://127.0.0.1:{_running[0].server_address[1]}/"


@pytest.fixture(autouse=True)
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Waits requested between retries, recorded instead of slept."""
    recorded: list[float] = []
    monkeypatch.setattr(http_mod, "sleep", recorded.append)
    return recorded


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ------------------------------------------------------------------ FrenchLibrary


def test_library_downloads_parses_and_memoises(
    server: _State, base_url: str, french_dir: Path
) -> None:
    library = FrenchLibrary(base_url, timeout=5, retries=0)
    data = library.get_factors(["MKT", "SMB", "HML"], "D")
    assert request_count() == 1
    assert server.paths() == [FF3_DAILY]
    assert data.source == SOURCE and data.release == "202510 CRSP" and data.frequency == "D"
    assert list(data.returns.columns) == ["MKT", "SMB", "HML", "RF"]
    assert len(data.returns) == 26_110
    local = FrenchFiles(french_dir / "vintage_202510" / "zip")
    local_data = local.get_factors(["MKT", "SMB", "HML"], "D")
    pd.testing.assert_frame_equal(data.returns, local_data.returns)

    again = library.get_factors(["MKT", "SMB", "HML"], "D")
    assert request_count() == 1 and len(server.paths()) == 1  # zero new requests
    pd.testing.assert_frame_equal(again.returns, data.returns)

    library.get_factors(["MKT", "MOM"], "D")  # only the momentum file is new
    assert request_count() == 2
    assert server.paths() == [FF3_DAILY, MOM_DAILY]


def test_six_factor_monthly_needs_two_files(server: _State, base_url: str) -> None:
    data = FrenchLibrary(base_url, retries=0).get_factors("MKT,SMB,HML,RMW,CMA,MOM", "M")
    assert sorted(server.paths()) == [
        "/F-F_Momentum_Factor_CSV.zip",
        "/F-F_Research_Data_5_Factors_2x3_CSV.zip",
    ]
    assert request_count() == 2
    assert list(data.returns.columns) == ["MKT", "SMB", "HML", "RMW", "CMA", "MOM", "RF"]
    assert data.returns.index[0] == pd.Timestamp("1963-07-31")


def test_user_agent_names_xlfactor(server: _State, base_url: str) -> None:
    fetch_bytes(base_url + FF3_MONTHLY.lstrip("/"), source=SOURCE)
    ((_, agent),) = server.log
    assert agent == http_mod.user_agent()
    assert agent.startswith("xlfactor/") and len(agent) > len("xlfactor/")


def test_user_agent_version(monkeypatch: pytest.MonkeyPatch) -> None:
    package = sys.modules["xlfactor"]
    monkeypatch.setattr(package, "__version__", "9.8.7", raising=False)
    assert http_mod.user_agent() == "xlfactor/9.8.7"
    monkeypatch.delattr(package, "__version__")
    assert http_mod.user_agent() == "xlfactor/0"


def test_retries_after_503_then_succeeds(
    server: _State, base_url: str, sleeps: list[float]
) -> None:
    server.plan(FF3_MONTHLY, ("status", 503), ("status", 503))
    data = FrenchLibrary(base_url, retries=3).get_factors(["MKT"], "M")
    assert len(data.returns) == 1_192
    assert request_count() == 3 and server.paths() == [FF3_MONTHLY] * 3
    assert sleeps == [0.5, 1.0]  # exponential backoff from the default 0.5 s


def test_persistent_503_gives_up_after_bounded_attempts(
    server: _State, base_url: str, sleeps: list[float]
) -> None:
    server.plan(FF3_MONTHLY, *[("status", 503)] * 10)
    library = FrenchLibrary(base_url, retries=3)
    with pytest.raises(DataUnavailableError) as info:
        library.get_factors(["MKT"], "M")
    assert str(info.value).startswith(f"{SOURCE}: HTTP 503 after 4 attempts")
    assert info.value.cell_message().startswith("#N/A ")
    assert request_count() == 4 and sleeps == [0.5, 1.0, 2.0]


def test_404_is_not_retried(server: _State, base_url: str, sleeps: list[float]) -> None:
    library = FrenchLibrary(base_url, retries=3)
    with pytest.raises(DataUnavailableError, match=r"HTTP 404 Not Found") as info:
        library.load_file("No_Such_Dataset")
    assert not isinstance(info.value, DataFormatError)
    assert "No_Such_Dataset_CSV.zip" in str(info.value)
    assert request_count() == 1 and sleeps == []


def test_weekly_url_and_unpublished_frequency(server: _State, base_url: str) -> None:
    library = FrenchLibrary(base_url, retries=0)
    with pytest.raises(DataUnavailableError, match="not published at weekly frequency"):
        library.get_factors(["MKT", "RMW"], "W")
    with pytest.raises(DataUnavailableError, match="MOM factors are not published at weekly"):
        library.get_factors(["MKT", "MOM"], "W")
    assert request_count() == 0
    # FF3 weekly is published; this test server just does not hold the file.
    with pytest.raises(DataUnavailableError, match="HTTP 404"):
        library.get_factors(["MKT"], "weekly")
    assert server.paths() == ["/F-F_Research_Data_Factors_weekly_CSV.zip"]


def test_truncated_body_is_retried(server: _State, base_url: str) -> None:
    server.plan(FF3_MONTHLY, "truncate")
    data = FrenchLibrary(base_url, retries=2).get_factors(["MKT", "SMB"], "M")
    assert len(data.returns) == 1_192
    assert request_count() == 2


def test_truncated_body_every_time(server: _State, base_url: str) -> None:
    server.plan(FF3_MONTHLY, "truncate", "truncate")
    with pytest.raises(DataUnavailableError, match=r"truncated response .* after 2 attempts"):
        FrenchLibrary(base_url, retries=1).get_factors(["MKT"], "M")


def test_unannounced_truncation_is_a_format_error(server: _State, base_url: str) -> None:
    server.plan(FF3_MONTHLY, "truncate_unannounced")
    with pytest.raises(DataFormatError, match=f"{SOURCE}: downloaded file is unusable"):
        FrenchLibrary(base_url, retries=2).get_factors(["MKT"], "M")
    assert request_count() == 1


def test_library_error_is_not_memoised(server: _State, base_url: str) -> None:
    server.plan(FF3_MONTHLY, ("status", 404))
    library = FrenchLibrary(base_url, retries=0)
    with pytest.raises(DataUnavailableError):
        library.get_factors(["MKT"], "M")
    assert len(library.get_factors(["MKT"], "M").returns) == 1_192
    assert request_count() == 2


def test_offline_makes_no_request(server: _State, base_url: str) -> None:
    with pytest.raises(DataUnavailableError, match="offline"):
        FrenchLibrary(base_url, offline=True).get_factors(["MKT"], "D")
    assert request_count() == 0 and server.paths() == []


def test_warm_cache_makes_zero_requests_across_instances(
    server: _State, base_url: str, tmp_path: Path
) -> None:
    """A second identical request, even from a new process (new objects), makes no request."""
    first = FrenchLibrary(base_url, store=Store(tmp_path), retries=0)
    cold = first.get_factors(["MKT", "SMB", "HML", "MOM"], "D")
    assert request_count() == 2
    reset_request_count()
    second = FrenchLibrary(base_url, store=Store(tmp_path), retries=0)
    warm = second.get_factors(["MKT", "SMB", "HML", "MOM"], "D")
    assert request_count() == 0
    assert warm.release == cold.release == "202510 CRSP"
    np.testing.assert_array_equal(warm.returns.to_numpy(), cold.returns.to_numpy())
    assert (warm.returns.index == cold.returns.index).all()
    assert not warm.stale


def test_expired_copy_is_refreshed(server: _State, base_url: str, tmp_path: Path) -> None:
    FrenchLibrary(base_url, store=Store(tmp_path), retries=0).get_factors(["MKT"], "M")
    reset_request_count()
    FrenchLibrary(base_url, store=Store(tmp_path), ttl_days=0.0, retries=0).get_factors(["MKT"], "M")
    assert request_count() == 1


@pytest.mark.parametrize("fault", [("status", 503), ("status", 500), "truncate_unannounced"])
def test_failed_refresh_serves_stale_cache_and_keeps_it_intact(
    server: _State, base_url: str, tmp_path: Path, fault: Action
) -> None:
    good = FrenchLibrary(base_url, store=Store(tmp_path), retries=0).get_factors(["MKT"], "M")
    server.plan(FF3_MONTHLY, fault, fault)
    library = FrenchLibrary(base_url, store=Store(tmp_path), ttl_days=0.0, retries=0)
    data = library.get_factors(["MKT"], "M")
    assert data.stale
    assert any("STALE" in note and "refresh failed" in note for note in data.notes)
    np.testing.assert_array_equal(data.returns.to_numpy(), good.returns.to_numpy())
    # the bad download did not replace the cached copy
    fresh = FrenchLibrary(base_url, store=Store(tmp_path), offline=True).get_factors(["MKT"], "M")
    np.testing.assert_array_equal(fresh.returns.to_numpy(), good.returns.to_numpy())


def test_failure_without_cache_names_the_source(server: _State, base_url: str, tmp_path: Path) -> None:
    server.plan(FF3_MONTHLY, ("status", 503))
    library = FrenchLibrary(base_url, store=Store(tmp_path), retries=0)
    with pytest.raises(DataUnavailableError, match="Kenneth French Data Library.*503"):
        library.get_factors(["MKT"], "M")
    assert Store(tmp_path).keys() == []


def test_offline_mode_serves_cache_only(server: _State, base_url: str, tmp_path: Path) -> None:
    FrenchLibrary(base_url, store=Store(tmp_path), retries=0).get_factors(["MKT"], "M")
    reset_request_count()
    offline = FrenchLibrary(base_url, store=Store(tmp_path), offline=True, ttl_days=0.0)
    assert len(offline.get_factors(["MKT"], "M").returns) == 1_192
    with pytest.raises(DataUnavailableError, match="not cached and offline"):
        offline.get_factors(["MKT"], "D")
    assert request_count() == 0


def test_concurrent_calls_download_once(server: _State, base_url: str) -> None:
    library = FrenchLibrary(base_url, retries=0)
    results: list[int] = []

    def work() -> None:
        results.append(len(library.get_factors(["MKT"], "M").returns))

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert results == [1_192] * 6
    assert request_count() == 1


# -------------------------------------------------------------------- fetch_bytes


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "7"}, 7.0),
        ({"Retry-After": " 1.5 "}, 1.5),
        ({"Retry-After": "3600"}, 30.0),  # capped
        ({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0.25),  # date: plain backoff
        ({"Retry-After": "-4"}, 0.25),
        ({}, 0.25),
    ],
)
def test_429_honours_numeric_retry_after(
    server: _State, base_url: str, sleeps: list[float], headers: dict[str, str], expected: float
) -> None:
    server.plan(FF3_MONTHLY, ("status", 429, headers))
    body = fetch_bytes(base_url + FF3_MONTHLY[1:], source=SOURCE, backoff=0.25)
    assert body[:2] == b"PK"
    assert sleeps == [expected] and request_count() == 2


@pytest.mark.parametrize("code", [500, 502, 503, 504])
def test_server_errors_are_retried(server: _State, base_url: str, code: int) -> None:
    server.plan(FF3_MONTHLY, ("status", code))
    fetch_bytes(base_url + FF3_MONTHLY[1:], source=SOURCE, retries=1)
    assert request_count() == 2


@pytest.mark.parametrize("code", [400, 401, 403, 410, 501])
def test_other_errors_are_final(
    server: _State, base_url: str, sleeps: list[float], code: int
) -> None:
    server.plan(FF3_MONTHLY, ("status", code))
    with pytest.raises(DataUnavailableError, match=f"{SOURCE}: HTTP {code}"):
        fetch_bytes(base_url + FF3_MONTHLY[1:], source=SOURCE, retries=3)
    assert request_count() == 1 and sleeps == []


def test_timeout_then_success(server: _State, base_url: str) -> None:
    server.plan(FF3_MONTHLY, ("sleep", 1.5))
    started = time.monotonic()
    body = fetch_bytes(base_url + FF3_MONTHLY[1:], source=SOURCE, timeout=0.3, retries=1)
    assert body[:2] == b"PK"
    assert request_count() == 2
    assert time.monotonic() - started < 1.4  # the client did not wait for the slow answer


def test_timeouts_exhaust_retries(server: _State, base_url: str, sleeps: list[float]) -> None:
    server.plan(FF3_MONTHLY, ("sleep", 1.5), ("sleep", 1.5))
    with pytest.raises(SourceUnreachableError,
                       match=rf"{SOURCE} unreachable \(timed out after 2 attempts\)"):
        fetch_bytes(base_url + FF3_MONTHLY[1:], source=SOURCE, timeout=0.2, retries=1, backoff=0.01)
    assert request_count() == 2 and sleeps == [0.01]


def test_connection_refused(sleeps: list[float]) -> None:
    reset_request_count()
    url = f"http://127.0.0.1:{_closed_port()}/x.zip"
    with pytest.raises(SourceUnreachableError, match=r"\(connection refused after 3 attempts\)"):
        fetch_bytes(url, source=SOURCE, retries=2, backoff=0.01)
    assert request_count() == 3 and sleeps == [0.01, 0.02]


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/F-F_Research_Data_Factors_CSV.zip",
        "HTTP://mba.tuck.dartmouth.edu/x.zip",
        "ftp://mba.tuck.dartmouth.edu/x.zip",
        "file:///etc/passwd",
        "https:///no-host.zip",
        "not a url",
    ],
)
def test_https_only(url: str) -> None:
    reset_request_count()
    with pytest.raises(DataUnavailableError, match="only https:// URLs are allowed"):
        fetch_bytes(url, source=SOURCE)
    assert request_count() == 0


def test_library_refuses_plain_http_base_url() -> None:
    reset_request_count()
    with pytest.raises(DataUnavailableError, match="only https://"):
        FrenchLibrary("http://example.com/ftp").get_factors(["MKT"], "D")
    assert request_count() == 0


def test_allowed_http_hosts_are_configurable(server: _State, base_url: str) -> None:
    with pytest.raises(DataUnavailableError, match="only https://"):
        fetch_bytes(base_url + FF3_MONTHLY[1:], source=SOURCE, allow_http_hosts=frozenset())
    assert request_count() == 0


def test_redirect_within_loopback_is_followed_and_counted(server: _State, base_url: str) -> None:
    server.plan("/moved.zip", ("redirect", FF3_MONTHLY))
    assert fetch_bytes(base_url + "moved.zip", source=SOURCE)[:2] == b"PK"
    assert server.paths() == ["/moved.zip", FF3_MONTHLY]
    assert request_count() == 2


def test_redirect_to_plain_http_elsewhere_is_refused(server: _State, base_url: str) -> None:
    # 203.0.113.0/24 is reserved for documentation: never reachable.
    server.plan("/moved.zip", ("redirect", "http://203.0.113.7/F-F_Research_Data_Factors_CSV.zip"))
    with pytest.raises(DataUnavailableError, match="only https://"):
        fetch_bytes(base_url + "moved.zip", source=SOURCE, timeout=0.5, retries=2)
    assert request_count() == 1 and server.paths() == ["/moved.zip"]


def test_request_counter_is_thread_safe(server: _State, base_url: str) -> None:
    url = base_url + FF3_MONTHLY[1:]
    threads = [
        threading.Thread(target=fetch_bytes, args=(url,), kwargs={"source": SOURCE})
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert request_count() == 8 == len(server.paths())
    reset_request_count()
    assert request_count() == 0


# ------------------------------------------------------------ the file that arrives


def _rezipped(root: Path, path: str, member: str) -> bytes:
    """The CSV of the zip at ``path`` in a new zip whose member is named ``member``."""
    with zipfile.ZipFile(root / path.lstrip("/")) as archive:
        (inner,) = archive.namelist()
        text = archive.read(inner)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(member, text)
    return buffer.getvalue()


@pytest.mark.parametrize(("asked", "factors", "freq", "served"), [
    (FF3_DAILY, ["MKT", "SMB", "HML"], "D", FF5_DAILY),  # MKT 1.2054 instead of 1.1952
    (FF3_DAILY, ["MKT", "SMB", "HML"], "D", FF3_MONTHLY),
    (MOM_DAILY, ["MKT", "MOM"], "D", FF3_DAILY),
    (FF3_MONTHLY, ["MKT"], "M", "/F-F_Research_Data_5_Factors_2x3_CSV.zip"),
])
def test_another_datasets_zip_is_refused_by_its_member_name(
    server: _State, base_url: str, tmp_path: Path, asked: str, factors: list[str], freq: str,
    served: str,
) -> None:
    server.plan(asked, ("serve", served))
    library = FrenchLibrary(base_url, store=Store(tmp_path), retries=0)
    with pytest.raises(DataFormatError) as info:
        library.get_factors(factors, freq)
    name, member = asked.strip("/")[:-8], served.strip("/")[:-8] + ".csv"
    assert f"asked for {name}, but the zip holds '{member}'" in str(info.value)
    assert f"french:{name}" not in Store(tmp_path).keys()  # never cached


@pytest.mark.parametrize(("asked", "factors", "served", "holds"), [
    (FF3_DAILY, ["MKT", "SMB", "HML"], FF5_DAILY,
     "asked for the three-factor file (MKT, SMB, HML, RF), but the file holds MKT, SMB, "
     "HML, RMW, CMA, RF (the five-factor file's columns)"),
    (MOM_DAILY, ["MKT", "MOM"], FF3_DAILY,
     "asked for the momentum file (MOM), but the file holds MKT, SMB, HML, RF (the "
     "three-factor file's columns)"),
    (FF5_DAILY, ["MKT", "RMW"], FF3_DAILY,
     "asked for the five-factor file (MKT, SMB, HML, RMW, CMA, RF), but the file holds "
     "MKT, SMB, HML, RF (the three-factor file's columns)"),
])
def test_another_datasets_columns_under_the_right_name_are_refused(
    server: _State, base_url: str, french_dir: Path, asked: str, factors: list[str],
    served: str, holds: str,
) -> None:
    root = french_dir / "vintage_202510" / "zip"
    member = asked.strip("/")[:-8] + ".csv"
    server.plan(asked, ("body", _rezipped(root, served, member)))
    with pytest.raises(DataFormatError, match="downloaded file is unusable") as info:
        FrenchLibrary(base_url, retries=0).get_factors(factors, "D")
    assert holds in str(info.value)


def test_a_wrong_file_on_refresh_keeps_serving_the_good_copy(
    server: _State, base_url: str, tmp_path: Path
) -> None:
    good = FrenchLibrary(base_url, store=Store(tmp_path), retries=0).get_factors(["MKT"], "D")
    server.plan(FF3_DAILY, ("serve", FF5_DAILY))
    library = FrenchLibrary(base_url, store=Store(tmp_path), ttl_days=0.0, retries=0)
    data = library.get_factors(["MKT"], "D")
    assert data.stale
    assert any("STALE" in note and "F-F_Research_Data_5_Factors_2x3_daily.csv" in note
               for note in data.notes), data.notes
    np.testing.assert_array_equal(data.returns.to_numpy(), good.returns.to_numpy())
    kept = FrenchLibrary(base_url, store=Store(tmp_path), offline=True).get_factors(["MKT"], "D")
    np.testing.assert_array_equal(kept.returns.to_numpy(), good.returns.to_numpy())


def test_a_wrong_copy_in_the_cache_is_fetched_again(
    server: _State, base_url: str, tmp_path: Path, french_dir: Path
) -> None:
    """A cache filled before the contents were checked may hold the five-factor table
    under the three-factor key: it is not served, the right file is downloaded."""
    five = FrenchFiles(french_dir / "vintage_202510" / "zip").load_file(FF5_DAILY[1:-8])
    Store(tmp_path).put_frame("french:F-F_Research_Data_Factors_daily", five.main,
                              {"release": five.release, "frequency": "D"})
    data = FrenchLibrary(base_url, store=Store(tmp_path), retries=0).get_factors(["MKT"], "D")
    assert server.paths() == [FF3_DAILY]
    assert list(data.returns.columns) == ["MKT", "RF"] and len(data.returns) == 26_110


def test_weekly_rows_cached_under_the_daily_name_are_fetched_again(
    server: _State, base_url: str, tmp_path: Path, french_dir: Path
) -> None:
    daily = FrenchFiles(french_dir / "vintage_202510" / "zip").load_file(FF3_DAILY[1:-8])
    fridays = daily.main[daily.main.index.day_of_week == 4]
    Store(tmp_path).put_frame("french:F-F_Research_Data_Factors_daily", fridays,
                              {"release": daily.release, "frequency": "D"})
    data = FrenchLibrary(base_url, store=Store(tmp_path), retries=0).get_factors(["MKT"], "D")
    assert server.paths() == [FF3_DAILY] and len(data.returns) == 26_110
