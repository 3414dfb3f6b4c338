"""A sheet of 50 ``FACTOR_*`` cells recalculated while the data sources cannot answer.

Run from the project root::

    python bench/outage.py            # both scenarios, a table of figures
    python bench/outage.py --json     # the same as JSON (the tests read it)

Scenarios, each in a fresh process with an empty cache:

``down``
    No network at all: the process runs in a network namespace of its own
    (``unshare -n``, needs root or user namespaces), so name resolution fails as on a
    machine without a connection. Nothing leaves the machine.
``silent``
    A server on 127.0.0.1 accepts every connection and never answers; the French library
    URL points at it and yfinance uses it as its proxy, so both sources hang.
``down-yahoo``, ``silent-yahoo``
    The same, with the factor files read from ``tests/data`` (as with
    ``XLFACTOR_FRENCH_DIR``), so that Yahoo is the source that cannot answer (the French
    library is asked first otherwise, and its outage ends every cell before Yahoo).

The sheet has 25 ``FACTOR_BETAS`` and 25 ``FACTOR_RETURNS`` cells, one ticker each. As
in Excel, the first cell prefetches for its workbook (the factor files, then every ticker
in one download) and then every cell computes in turn. For reference the same process
then recalculates 3 cells without the prefetch and with the outage record disabled
(``retry_after`` near zero: every cell asks the network again, as before it existed),
and the per-cell figure is scaled to 50 cells.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("XLFACTOR_SHARED_DATA", ROOT / "tests" / "data"))
FRENCH_ZIPS = SHARED / "kenneth_french" / "vintage_202510" / "zip"
SCENARIOS = ("down", "silent", "down-yahoo", "silent-yahoo")
TARGET_SECONDS = 10.0
CELLS = 50
TICKERS = [f"Z{i:02d}" for i in range(CELLS)]


def _silent_server() -> tuple[int, list[socket.socket]]:
    """Accepts connections on 127.0.0.1 and never sends a byte (bounded: 200 at most)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held: list[socket.socket] = []

    def accept() -> None:
        while len(held) < 200:
            conn, _ = server.accept()
            held.append(conn)

    threading.Thread(target=accept, daemon=True).start()
    return server.getsockname()[1], held


def _sheet(cells: int, prefetch: bool = True) -> tuple[float, list[float], list[str]]:
    """Recalculate ``cells`` cells as Excel does: the first cell's workbook prefetch
    (every formula's tickers in one download, factor files first), then each cell in turn.
    Returns total seconds, per-cell seconds (the prefetch counted in the first cell) and
    each cell's text."""
    from xlfactor import udfs

    times, texts = [], []
    started = time.perf_counter()
    if prefetch:
        _prefetch(cells)
    for i in range(cells):
        t0 = time.perf_counter()
        if i % 2 == 0:
            table = udfs.FACTOR_BETAS(TICKERS[i], "FF3", "2021-01-01", "2021-12-31")
        else:
            table = udfs.FACTOR_RETURNS(TICKERS[i], "2021-01-01", "2021-12-31")
        times.append(time.perf_counter() - t0)
        texts.append(str(table[0][0]))
    if prefetch and times:
        times[0] = time.perf_counter() - started - sum(times[1:])
    return time.perf_counter() - started, times, texts


def _prefetch(cells: int) -> None:
    """What the first cell does with its workbook (xlfactor.excel.prefetch)."""
    from openpyxl import Workbook

    from xlfactor.excel import prefetch
    from xlfactor.excel.books import FileBook

    wb = Workbook()
    for i in range(cells):
        if i % 2 == 0:
            text = f'=FACTOR_BETAS("{TICKERS[i]}","FF3","2021-01-01","2021-12-31")'
        else:
            text = f'=FACTOR_RETURNS("{TICKERS[i]}","2021-01-01","2021-12-31")'
        wb.active.cell(row=i + 1, column=1).value = text
    path = Path(tempfile.mkdtemp()) / "sheet.xlsx"
    wb.save(path)
    try:
        prefetch.fetch(prefetch.plan(FileBook(path)))
    except Exception:  # noqa: BLE001, S110 - as in Excel: the cells report the failure
        pass


def child(scenario: str, reference: bool = True) -> dict:
    """Run in the scenario's process: the sheet, then the reference without the record."""
    if scenario.endswith("-yahoo"):
        os.environ["XLFACTOR_FRENCH_DIR"] = str(FRENCH_ZIPS)
    if scenario.startswith("silent"):
        port, _held = _silent_server()
        os.environ["XLFACTOR_FRENCH_URL"] = f"http://127.0.0.1:{port}/"
        import yfinance

        yfinance.config.network.proxy = f"http://127.0.0.1:{port}"
    total, times, texts = _sheet(CELLS)
    result = {"scenario": scenario, "total_s": total, "max_cell_s": max(times),
              "median_cell_s": sorted(times)[len(times) // 2], "messages": sorted(set(texts))}
    if not reference:
        return result
    from xlfactor.data.memo import forget_all
    from xlfactor.data.reachability import REACHABILITY

    REACHABILITY.clear()
    os.environ["XLFACTOR_RETRY_AFTER"] = "0.000001"
    forget_all()
    ref_total, _, _ = _sheet(3, prefetch=False)
    return {**result, "reference_per_cell_s": ref_total / 3, "reference_cells": 3}


def run(scenario: str, reference: bool = True) -> dict:
    """The scenario in a fresh process (and, for ``down``, a namespace without network)."""
    with tempfile.TemporaryDirectory(prefix="xlfactor-outage-") as cache:
        env = {k: v for k, v in os.environ.items() if not k.startswith("XLFACTOR_")}
        env.update(XLFACTOR_CACHE_DIR=cache, PYTHONPATH=str(ROOT))
        command = [sys.executable, str(Path(__file__).resolve()), "_child", scenario,
                   "reference" if reference else "no-reference"]
        if scenario.startswith("down"):
            unshare = shutil.which("unshare")
            if unshare is None:
                raise RuntimeError("unshare (util-linux) is needed for the 'down' scenario")
            command = [unshare, "-n", *command]
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600,
                              check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{scenario} scenario failed: {done.stderr[-2000:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str]) -> None:
    if argv[:1] == ["_child"]:
        print(json.dumps(child(argv[1], reference=argv[2:3] != ["no-reference"])), flush=True)
        # yfinance's abandoned worker threads would hold the exit until their own timeouts
        # (about 30 s); in Excel the UDF server lives on, so nobody waits for them.
        os._exit(0)
    chosen = [s for s in SCENARIOS if FRENCH_ZIPS.is_dir() or not s.endswith("-yahoo")]
    results = [run(s) for s in chosen]
    if "--json" in argv:
        print(json.dumps(results))
        return
    print(f"outage: {CELLS} FACTOR_* cells recalculated with the sources unreachable "
          f"(target: all within {TARGET_SECONDS:g} s)")
    for r in results:
        before = r["reference_per_cell_s"] * CELLS
        print(f"  {r['scenario']:<7} total {r['total_s']:6.2f} s  slowest cell "
              f"{r['max_cell_s']:5.2f} s  median cell {r['median_cell_s'] * 1e3:7.2f} ms   "
              f"without the outage record {r['reference_per_cell_s']:5.2f} s/cell "
              f"(x{CELLS} = {before:6.1f} s)   {'OK' if r['total_s'] <= TARGET_SECONDS else 'SLOW'}")
        print(f"          {len(r['messages'])} distinct cell texts, e.g. {r['messages'][0]}")


if __name__ == "__main__":
    main(sys.argv[1:])
