"""Saved price files are parsed again exactly when their path, size or mtime change."""

from __future__ import annotations

import os
from datetime import date

import xlfactor.data.price_files as pf
from xlfactor.data.price_files import PriceFiles

ROWS = "Date,Open,High,Low,Close,Adj Close,Volume\n"


def _write(path, closes, mtime_ns):
    body = "".join(f"2024-01-0{i + 2},1,1,1,{c},{c},10\n" for i, c in enumerate(closes))
    path.write_text(ROWS + body)
    os.utime(path, ns=(mtime_ns, mtime_ns))


def test_unchanged_file_not_parsed_again_edited_file_read_anew(tmp_path, monkeypatch):
    calls = {"n": 0}
    real = pf.read_price_file

    def counting(*a, **k):
        calls["n"] += 1
        return real(*a, **k)

    monkeypatch.setattr(pf, "read_price_file", counting)
    path = tmp_path / "ABC.csv"
    _write(path, [10.0, 11.0, 12.0], 1_700_000_000_000_000_000)
    source = PriceFiles(tmp_path)
    first = source.get_prices(["ABC"], date(2024, 1, 1), date(2024, 1, 31))
    source.get_prices(["ABC"], date(2024, 1, 1), date(2024, 1, 31))
    source.get_prices(["ABC"], date(2024, 1, 3), date(2024, 1, 31))
    assert calls["n"] == 1
    assert first.prices["ABC"].tolist() == [10.0, 11.0, 12.0]
    _write(path, [20.0, 22.0, 24.5], 1_700_000_100_000_000_000)
    again = source.get_prices(["ABC"], date(2024, 1, 1), date(2024, 1, 31))
    assert calls["n"] == 2
    assert again.prices["ABC"].tolist() == [20.0, 22.0, 24.5]
    assert again.version != first.version
