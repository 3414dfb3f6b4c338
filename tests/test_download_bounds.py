"""Every download is bounded in time and bytes, against hostile servers on 127.0.0.1.

The server here is a raw socket loop (not ``http.server``), so it can misbehave exactly:
drip a body one byte at a time, drip the headers, send an endless body with or without a
``Content-Length``, or announce a huge one. It counts the bytes it managed to send, so the
tests assert what the client really read, not only what it said.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from xlfactor.data import http as http_mod
from xlfactor.data.french import FrenchLibrary
from xlfactor.data.http import fetch_bytes
from xlfactor.data.reachability import REACHABILITY, SourceUnreachableError
from xlfactor.domain.errors import DataUnavailableError

SOURCE = "Kenneth French Data Library"
FF3_DAILY_ZIP = "kenneth_french/vintage_202510/zip/F-F_Research_Data_Factors_daily_CSV.zip"


@dataclass
class Hostile:
    """One misbehaving HTTP server; ``mode`` chooses how it answers every request."""

    mode: str
    body: bytes = b""
    sent: int = 0  # bytes written after the headers, over all connections
    stop: threading.Event = field(default_factory=threading.Event)
    port: int = 0
    connections: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/F-F_Research_Data_Factors_daily_CSV.zip"

    def serve(self, listener: socket.socket) -> None:
        listener.settimeout(0.1)
        while not self.stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(5)
            conn.recv(65536)  # the request; its content does not matter here
            getattr(self, f"_{self.mode}")(conn)
        except OSError:
            pass  # the client hung up: what these tests want
        finally:
            conn.close()

    def _send_body(self, conn: socket.socket, data: bytes) -> None:
        conn.sendall(data)
        self.sent += len(data)

    def _drip(self, conn: socket.socket) -> None:
        """Honest headers, then the real body one byte every 50 ms."""
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(self.body))
        for byte in self.body:
            if self.stop.is_set():
                return
            self._send_body(conn, bytes([byte]))
            time.sleep(0.05)

    def _busy_then_drip(self, conn: socket.socket) -> None:
        """The first connection: HTTP 503 after 0.4 s (a retry follows); the others drip."""
        self.connections += 1
        if self.connections == 1:
            time.sleep(0.4)
            conn.sendall(b"HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n")
            return
        self._drip(conn)

    def _drip_headers(self, conn: socket.socket) -> None:
        """The status line and headers themselves one byte every 50 ms, without end."""
        conn.sendall(b"HTTP/1.1 200 OK\r\n")
        while not self.stop.is_set():
            conn.sendall(b"X")
            time.sleep(0.05)

    def _drip_tls(self, conn: socket.socket) -> None:
        """A TLS handshake record announced at 16 KB, then sent one byte every 50 ms."""
        conn.sendall(b"\x16\x03\x03\x40\x00")
        while not self.stop.is_set():
            conn.sendall(b"\x02")
            time.sleep(0.05)

    def _endless(self, conn: socket.socket) -> None:
        """No Content-Length, close-delimited, and a body that never ends."""
        conn.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
        chunk = b"\0" * 65536
        while not self.stop.is_set():
            self._send_body(conn, chunk)

    def _endless_chunked(self, conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        chunk = b"10000\r\n" + b"\0" * 65536 + b"\r\n"
        while not self.stop.is_set():
            self._send_body(conn, chunk)

    def _huge_length(self, conn: socket.socket) -> None:
        """Announces 10 GB, then sends without end."""
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 10000000000\r\n\r\n")
        chunk = b"\0" * 65536
        while not self.stop.is_set():
            self._send_body(conn, chunk)


@pytest.fixture
def hostile() -> Iterator[callable]:
    started: list[tuple[Hostile, threading.Thread, socket.socket]] = []

    def start(mode: str, body: bytes = b"") -> Hostile:
        listener = socket.create_server(("127.0.0.1", 0))
        server = Hostile(mode, body, port=listener.getsockname()[1])
        thread = threading.Thread(target=server.serve, args=(listener,), daemon=True)
        thread.start()
        started.append((server, thread, listener))
        return server

    REACHABILITY.clear()
    yield start
    for server, thread, listener in started:
        server.stop.set()
        thread.join(5)
        listener.close()
    REACHABILITY.clear()


@pytest.fixture(autouse=True)
def _no_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http_mod, "sleep", lambda seconds: None)


def _real_zip(shared_data: Path) -> bytes:
    return (shared_data / FF3_DAILY_ZIP).read_bytes()


def test_a_dripping_body_is_cut_off_at_the_transfer_wait(hostile, shared_data: Path) -> None:
    server = hostile("drip", _real_zip(shared_data))
    began = time.monotonic()
    with pytest.raises(SourceUnreachableError, match=r"no complete answer within 0\.6 s"):
        # timeout (per socket operation) is far longer than the drip's pauses: only the
        # whole-transfer wait can end this; and the attempt is not repeated.
        fetch_bytes(server.url, source=SOURCE, timeout=5, retries=3, transfer_wait=0.6)
    took = time.monotonic() - began
    assert 0.55 < took < 5.0  # the upper bound leaves room for a loaded machine
    assert 0 < server.sent < 40  # about 12 bytes at 20 a second; the rest never came


def test_dripping_headers_are_cut_off_too(hostile) -> None:
    server = hostile("drip_headers")
    began = time.monotonic()
    with pytest.raises(SourceUnreachableError, match="no complete answer within 0.5 s"):
        fetch_bytes(server.url, source=SOURCE, timeout=5, retries=0, transfer_wait=0.5)
    assert time.monotonic() - began < 5.0


def test_a_tls_handshake_dripping_is_cut_off_too(hostile) -> None:
    server = hostile("drip_tls")
    url = server.url.replace("http://", "https://")
    began = time.monotonic()
    with pytest.raises(SourceUnreachableError, match="no complete answer within 0.5 s"):
        fetch_bytes(url, source=SOURCE, timeout=5, retries=0, transfer_wait=0.5)
    assert time.monotonic() - began < 5.0


@pytest.mark.parametrize("mode", ["endless", "endless_chunked"])
def test_an_endless_body_is_refused_while_it_streams(hostile, mode: str) -> None:
    server = hostile(mode)
    cap = 1 << 20
    with pytest.raises(DataUnavailableError, match=r"passed 1048576 bytes while streaming") as info:
        fetch_bytes(server.url, source=SOURCE, timeout=5, retries=3, max_bytes=cap,
                    transfer_wait=20)
    assert not isinstance(info.value, SourceUnreachableError)  # a fault, not an outage
    assert "1 MB allowed" in str(info.value)
    # The client read a little over the cap and hung up: the server could not push more
    # than the cap, one read chunk and the socket buffers (a few MB at most) before that.
    time.sleep(0.2)
    assert cap < server.sent < cap + 16 * (1 << 20)


def test_a_declared_length_over_the_cap_is_refused_before_reading(hostile) -> None:
    server = hostile("huge_length")
    with pytest.raises(DataUnavailableError, match="declares 10000000000 bytes"):
        fetch_bytes(server.url, source=SOURCE, timeout=5, retries=3, max_bytes=1 << 20)


def test_a_normal_file_under_the_caps_still_arrives_whole(shared_data: Path, hostile) -> None:
    body = _real_zip(shared_data)[:20]
    server = hostile("drip", body)  # 20 bytes at 20 a second: 1 s, within 15
    got = fetch_bytes(server.url, source=SOURCE, timeout=5, retries=0, transfer_wait=15,
                      max_bytes=len(body))
    assert got == body


def test_french_library_uses_the_configured_bounds(hostile, shared_data: Path) -> None:
    server = hostile("drip", _real_zip(shared_data))
    # the socket timeout (the network wait) longer than the drip's pauses, shorter than
    # the download wait: the download wait cuts the transfer off
    library = FrenchLibrary(server.url.rsplit("/", 1)[0] + "/", timeout=0.3, download_wait=0.5)
    began = time.monotonic()
    with pytest.raises(SourceUnreachableError, match="no complete answer within 0.5 s"):
        library.get_factors(["MKT"], "daily")
    assert time.monotonic() - began < 5.0
    # recorded as an outage: the next cell does not ask again (so does not wait)
    asked = http_mod.request_count()
    with pytest.raises(SourceUnreachableError, match="unreachable"):
        library.get_factors(["MKT"], "daily")
    assert http_mod.request_count() == asked


def test_french_library_cap_comes_from_the_settings(hostile, monkeypatch, tmp_cache) -> None:
    from xlfactor.data.settings import Settings
    from xlfactor.pipeline import _build_sources

    server = hostile("endless")
    monkeypatch.setenv("XLFACTOR_FRENCH_MAX_MB", "0.5")
    monkeypatch.setenv("XLFACTOR_FRENCH_URL", server.url.rsplit("/", 1)[0] + "/")
    monkeypatch.setenv("XLFACTOR_NET_WAIT", "5")
    settings = Settings.from_env()
    assert settings.french_max_bytes == 1 << 19
    factors = _build_sources(settings).factors
    with pytest.raises(DataUnavailableError, match="passed 524288 bytes while streaming"):
        factors.get_factors(["MKT"], "daily")


@pytest.fixture
def watchdogs(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The seconds given to each attempt's watchdog, in order."""
    given: list[float] = []
    real = http_mod._Watchdog

    def record(seconds: float) -> http_mod._Watchdog:
        given.append(seconds)
        return real(seconds)

    monkeypatch.setattr(http_mod, "_Watchdog", record)
    return given


def test_a_retry_streams_only_for_what_is_left_of_the_call(hostile, watchdogs,
                                                           shared_data: Path) -> None:
    """With a deadline, the call ends within max(deadline, transfer_wait): a retry begun
    0.4 s in gets the transfer wait less those 0.4 s, not a whole one more."""
    server = hostile("busy_then_drip", _real_zip(shared_data))
    with pytest.raises(SourceUnreachableError, match="no complete answer within"):
        fetch_bytes(server.url, source=SOURCE, timeout=5, retries=3, backoff=0.01,
                    deadline=0.5, transfer_wait=1.0)
    first, second = watchdogs  # the 503, then the dripping retry, cut off: not repeated
    assert first == 1.0
    assert 0.05 <= second <= 0.6


def test_the_french_download_wait_is_at_least_the_network_wait(hostile, watchdogs,
                                                               shared_data: Path) -> None:
    """XLFACTOR_NET_WAIT raised above XLFACTOR_DOWNLOAD_WAIT lets a slow download finish:
    one second of dripping, a download wait of 0.3 s and a network wait of 3 s."""
    body = _real_zip(shared_data)[:20]
    server = hostile("drip", body)
    library = FrenchLibrary(server.url.rsplit("/", 1)[0] + "/", timeout=3, download_wait=0.3,
                            max_bytes=len(body))
    assert library._download("F-F_Research_Data_Factors_daily") == body
    assert watchdogs == [3]
