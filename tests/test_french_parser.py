"""Parser tests on the real Kenneth French library files in tests/data/kenneth_french.

Expected numbers come from MANIFEST.md (vintage 202510) or from an independent, deliberately
simple reading of the raw text inside the test (regular expressions over the lines), never
from the parser under test.
"""

from __future__ import annotations

import functools
import io
import os
import re
import shutil
import zipfile
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from xlfactor.data.french import (
    DATASETS,
    FrenchFile,
    FrenchFiles,
    combine_factor_files,
    dataset_name,
    families_for,
    parse_french_csv,
    read_french_path,
    read_french_zip,
)
from xlfactor.domain.errors import DataFormatError, DataUnavailableError, UnknownModelError

V2510 = "vintage_202510"
V2412 = "vintage_202412"

#: MANIFEST.md, vintage 202510: rows, first and last main date, annual rows.
MANIFEST_202510 = {
    "F-F_Research_Data_Factors_daily": (26_110, "1926-07-01", "2025-10-31", None),
    "F-F_Research_Data_5_Factors_2x3_daily": (15_690, "1963-07-01", "2025-10-31", None),
    "F-F_Momentum_Factor_daily": (26_009, "1926-11-03", "2025-10-31", None),
    "F-F_Research_Data_Factors": (1_192, "1926-07-31", "2025-10-31", 98),
    "F-F_Research_Data_5_Factors_2x3": (748, "1963-07-31", "2025-10-31", 61),
    "F-F_Momentum_Factor": (1_186, "1927-01-31", "2025-10-31", 98),
}

_MAIN_ROW = re.compile(r"^(\d{8}|\d{6}),(.*)$")
_ANNUAL_ROW = re.compile(r"^\s*(\d{4}),(.*)$")

# Every real file, listed without touching the data so collection works without it.
_ALL_FILES = (
    [(V2510, "zip", f"{n}_CSV.zip") for n in MANIFEST_202510]
    + [(V2510, "csv", f"{n}.csv") for n in MANIFEST_202510]
    + [
        (V2412, "zip", f"{n}_CSV.zip")
        for n in (
            "F-F_Research_Data_Factors_daily",
            "F-F_Research_Data_Factors",
            "F-F_Research_Data_5_Factors_2x3_daily",
            "F-F_Momentum_Factor_daily",
            "F-F_Momentum_Factor",
        )
    ]
)


def _raw_text(path: Path) -> str:
    if path.suffix.lower() == ".zip":
        with zipfile.ZipFile(path) as archive:
            (member,) = archive.namelist()
            return archive.read(member).decode("ascii")
    return path.read_bytes().decode("ascii")


def _raw_rows(text: str, pattern: re.Pattern[str]) -> tuple[list[str], np.ndarray]:
    """Date codes and percent values of all lines matching ``pattern``."""
    codes, values = [], []
    for line in text.splitlines():
        match = pattern.match(line)
        if match:
            codes.append(match.group(1))
            values.append([float(v) for v in match.group(2).split(",")])
    return codes, np.array(values)


@functools.cache
def _parsed(path: Path) -> FrenchFile:
    """Parse each real file once per session; several tests look at the same result."""
    return read_french_path(path)


def _expected_dates(codes: list[str]) -> pd.DatetimeIndex:
    """Independent date rule: YYYYMMDD as is, YYYYMM and YYYY at period end."""
    out = []
    for code in codes:
        if len(code) == 8:
            out.append(pd.Timestamp(int(code[:4]), int(code[4:6]), int(code[6:])))
        elif len(code) == 6:
            out.append(pd.Period(f"{code[:4]}-{code[4:]}", freq="M").end_time.normalize())
        else:
            out.append(pd.Timestamp(int(code), 12, 31))
    return pd.DatetimeIndex(out)


@pytest.fixture(scope="module", params=_ALL_FILES, ids=lambda p: f"{p[0]}/{p[2]}")
def real_file(request: pytest.FixtureRequest, french_dir: Path) -> tuple[Path, str, FrenchFile]:
    vintage, kind, file_name = request.param
    path = french_dir / vintage / kind / file_name
    return path, _raw_text(path), _parsed(path)


@pytest.fixture(scope="module")
def ff3_monthly_text(french_dir: Path) -> str:
    return _raw_text(french_dir / V2510 / "csv" / "F-F_Research_Data_Factors.csv")


@pytest.fixture(scope="module")
def ff3_daily_text(french_dir: Path) -> str:
    return _raw_text(french_dir / V2510 / "csv" / "F-F_Research_Data_Factors_daily.csv")


# ------------------------------------------------------------------ every real file


def test_main_table_matches_raw_text(real_file: tuple[Path, str, FrenchFile]) -> None:
    _, text, parsed = real_file
    codes, percent = _raw_rows(text, _MAIN_ROW)
    main = parsed.main
    assert len(main) == len(codes)
    assert isinstance(main.index, pd.DatetimeIndex) and main.index.name == "date"
    assert main.index.equals(_expected_dates(codes))
    assert all(dtype == np.float64 for dtype in main.dtypes)
    # Percent -> decimal, every value of the file.
    np.testing.assert_allclose(main.to_numpy(), percent / 100.0, rtol=0, atol=1e-12)


def test_annual_table_matches_raw_text(real_file: tuple[Path, str, FrenchFile]) -> None:
    _, text, parsed = real_file
    codes, percent = _raw_rows(text, _ANNUAL_ROW)
    if not codes:
        assert parsed.annual is None
        return
    annual = parsed.annual
    assert annual is not None
    assert len(annual) == len(codes)
    assert annual.index.equals(_expected_dates(codes))
    assert (annual.index.month == 12).all() and (annual.index.day == 31).all()
    assert list(annual.columns) == list(parsed.main.columns)
    np.testing.assert_allclose(annual.to_numpy(), percent / 100.0, rtol=0, atol=1e-12)


def test_no_annual_row_leaks_into_main(real_file: tuple[Path, str, FrenchFile]) -> None:
    _, text, parsed = real_file
    main = parsed.main
    if parsed.frequency == "M":
        assert main.index.is_month_end.all()
        # December rows of the main table are the monthly values, not the annual ones.
        december = main.loc[main.index.month == 12]
        monthly = dict(zip(*_raw_rows(text, _MAIN_ROW), strict=True))
        for date, row in december.iloc[:3].iterrows():
            raw = monthly[f"{date.year}12"]
            np.testing.assert_allclose(row.to_numpy(), raw / 100.0, atol=1e-12)
    assert main.index.is_monotonic_increasing and main.index.is_unique


def test_release_frequency_and_columns(real_file: tuple[Path, str, FrenchFile]) -> None:
    path, text, parsed = real_file
    vintage = path.parent.parent.name
    assert parsed.release == ("202510 CRSP" if vintage == V2510 else "202412 CRSP")
    assert parsed.name == dataset_name(path.name)
    assert parsed.frequency == ("D" if "daily" in path.name else "M")
    if "Momentum" in path.name:
        expected = ["MOM"]
    elif "5_Factors" in path.name:
        expected = ["MKT", "SMB", "HML", "RMW", "CMA", "RF"]
    else:
        expected = ["MKT", "SMB", "HML", "RF"]
    assert list(parsed.main.columns) == expected
    header = next(line for line in text.splitlines() if line.startswith(","))
    assert len(header.split(",")) - 1 == len(expected)
    assert parsed.description.startswith("This file was created")
    assert parsed.description == parsed.description.strip()
    assert header not in parsed.description


def test_manifest_numbers_202510(french_dir: Path) -> None:
    for name, (rows, first, last, annual_rows) in MANIFEST_202510.items():
        parsed = _parsed(french_dir / V2510 / "zip" / f"{name}_CSV.zip")
        assert len(parsed.main) == rows, name
        assert parsed.main.index[0] == pd.Timestamp(first), name
        assert parsed.main.index[-1] == pd.Timestamp(last), name
        assert (None if parsed.annual is None else len(parsed.annual)) == annual_rows, name


def test_first_daily_row_units(french_dir: Path, ff3_daily_text: str) -> None:
    parsed = _parsed(french_dir / V2510 / "zip" / "F-F_Research_Data_Factors_daily_CSV.zip")
    first_raw = next(line for line in ff3_daily_text.splitlines() if line.startswith("19260701,"))
    percent = [float(v) for v in first_raw.split(",")[1:]]
    assert percent == [0.09, -0.25, -0.27, 0.01]  # the published first row, 1926-07-01
    assert parsed.main.iloc[0].tolist() == pytest.approx([0.0009, -0.0025, -0.0027, 0.0001])
    assert parsed.main.iloc[0].tolist() == pytest.approx([p / 100 for p in percent])


def test_zip_and_csv_of_202510_parse_identically(french_dir: Path) -> None:
    for name in MANIFEST_202510:
        from_zip = _parsed(french_dir / V2510 / "zip" / f"{name}_CSV.zip")
        from_csv = _parsed(french_dir / V2510 / "csv" / f"{name}.csv")
        pd.testing.assert_frame_equal(from_zip.main, from_csv.main)
        if from_zip.annual is None:
            assert from_csv.annual is None
        else:
            pd.testing.assert_frame_equal(from_zip.annual, from_csv.annual)
        for attr in ("name", "description", "release", "frequency"):
            assert getattr(from_zip, attr) == getattr(from_csv, attr)


def test_padded_momentum_column_and_upper_case_member(french_dir: Path) -> None:
    path = french_dir / V2412 / "zip" / "F-F_Momentum_Factor_CSV.zip"
    with zipfile.ZipFile(path) as archive:
        (member,) = archive.namelist()
    assert member.endswith(".CSV")
    assert ",Mom   \r\n" in _raw_text(path)
    parsed = read_french_zip(path.read_bytes())
    assert parsed.name == "F-F_Momentum_Factor"  # taken from the member name
    assert list(parsed.main.columns) == ["MOM"]


def test_2024_five_factor_daily_without_footer(french_dir: Path) -> None:
    path = french_dir / V2412 / "zip" / "F-F_Research_Data_5_Factors_2x3_daily_CSV.zip"
    text = _raw_text(path)
    assert "Copyright" not in text
    parsed = read_french_path(path)
    assert parsed.main.index[-1] == pd.Timestamp("2024-12-31")
    # Daily RF has three decimals in this release: 0.017 % -> 0.00017.
    assert parsed.main["RF"].iloc[-1] == pytest.approx(0.00017)


def test_leap_february_is_month_end(french_dir: Path) -> None:
    main = read_french_path(french_dir / V2510 / "csv" / "F-F_Research_Data_Factors.csv").main
    assert pd.Timestamp("1928-02-29") in main.index
    assert pd.Timestamp("1927-02-28") in main.index


# ------------------------------------------------------------- synthetic edge cases


def _replace_line(text: str, prefix: str, new_line: str) -> str:
    lines = text.split("\r\n")
    (i,) = [k for k, line in enumerate(lines) if line.startswith(prefix)]
    lines[i] = new_line
    return "\r\n".join(lines)


def test_missing_codes_become_nan(ff3_monthly_text: str) -> None:
    text = _replace_line(ff3_monthly_text, "192608,", "192608,  -99.99,  -1.14,  -999,   0.25")
    text = _replace_line(text, "192609,", "192609,   0.38, -999.00,   0.05, -99.990")
    main = parse_french_csv(text, "F-F_Research_Data_Factors").main
    aug, sep = main.loc["1926-08-31"], main.loc["1926-09-30"]
    assert np.isnan(aug["MKT"]) and np.isnan(aug["HML"])
    assert aug["SMB"] == pytest.approx(-0.0114) and aug["RF"] == pytest.approx(0.0025)
    assert np.isnan(sep["SMB"]) and np.isnan(sep["RF"]) and sep["MKT"] == pytest.approx(0.0038)
    assert main.isna().sum().sum() == 4


def test_values_near_missing_codes_are_kept(ff3_monthly_text: str) -> None:
    text = _replace_line(ff3_monthly_text, "192608,", "192608,  -99.98,  -9.999,  -99.999,  0.25")
    aug = parse_french_csv(text).main.loc["1926-08-31"]
    assert aug.tolist() == pytest.approx([-0.9998, -0.09999, -0.99999, 0.0025])


def test_extra_free_text_header_line(ff3_monthly_text: str) -> None:
    original = parse_french_csv(ff3_monthly_text, "F-F_Research_Data_Factors")
    extra = "Annual returns and a note, with a comma, added in a future release.\r\n"
    changed = parse_french_csv(extra + ff3_monthly_text, "F-F_Research_Data_Factors")
    pd.testing.assert_frame_equal(changed.main, original.main)
    pd.testing.assert_frame_equal(changed.annual, original.annual)
    assert changed.description.startswith("Annual returns and a note")
    assert changed.release == "202510 CRSP"


def test_new_extra_column_is_kept(ff3_monthly_text: str) -> None:
    lines = ff3_monthly_text.split("\r\n")
    header = lines.index(",Mkt-RF,SMB,HML,RF")  # the first one: the monthly table
    lines[header] += ",  New Factor  "
    k = header + 1
    while lines[k].strip():
        lines[k] += ",   1.50"
        k += 1
    parsed = parse_french_csv("\r\n".join(lines), "F-F_Research_Data_Factors")
    assert list(parsed.main.columns) == ["MKT", "SMB", "HML", "RF", "New Factor"]
    assert (parsed.main["New Factor"] == 0.015).all()
    assert list(parsed.annual.columns) == ["MKT", "SMB", "HML", "RF"]


def test_crlf_lf_and_cr_parse_identically(ff3_monthly_text: str) -> None:
    assert "\r\n" in ff3_monthly_text
    crlf = parse_french_csv(ff3_monthly_text, "F-F_Research_Data_Factors")
    for text in (ff3_monthly_text.replace("\r\n", "\n"), ff3_monthly_text.replace("\r\n", "\r")):
        other = parse_french_csv(text, "F-F_Research_Data_Factors")
        pd.testing.assert_frame_equal(other.main, crlf.main)
        pd.testing.assert_frame_equal(other.annual, crlf.annual)
        assert other.description == crlf.description


def test_header_row_position_is_found_not_assumed(ff3_daily_text: str) -> None:
    lines = ff3_daily_text.split("\r\n")
    assert lines[4] == ",Mkt-RF,SMB,HML,RF"
    shorter = parse_french_csv("\r\n".join(lines[3:]), "F-F_Research_Data_Factors_daily")
    assert shorter.description == "" and shorter.release == ""
    assert len(shorter.main) == 26_110


def _fridays(daily_text: str) -> str:
    """The daily file cut down to its Friday rows: weekly-spaced rows in the daily layout."""
    lines = daily_text.split("\r\n")
    return "\r\n".join(
        ln for ln in lines
        if not re.match(r"\d{8},", ln)
        or date(int(ln[:4]), int(ln[4:6]), int(ln[6:8])).weekday() == 4  # Friday
    )


def test_frequency_comes_from_the_dates(ff3_daily_text: str) -> None:
    fridays = _fridays(ff3_daily_text)
    assert parse_french_csv(fridays, "F-F_Research_Data_Factors_weekly").frequency == "W"
    # Without a name the spacing of the dates decides.
    assert parse_french_csv(fridays).frequency == "W"
    assert parse_french_csv(ff3_daily_text).frequency == "D"


@pytest.mark.parametrize(("name", "found", "detail"), [
    ("F-F_Research_Data_Factors_daily", "weekly", "a median of 7 days between rows"),
    ("Europe_3_Factors_Daily", "weekly", "a median of 7 days between rows"),
    ("F-F_Research_Data_Factors_weekly", "daily", "a median of 1 day between rows"),
    ("F-F_Momentum_Factor_daily", "monthly", "YYYYMM dates"),
])
def test_dates_that_contradict_the_file_name_are_refused(
    ff3_daily_text: str, ff3_monthly_text: str, name: str, found: str, detail: str
) -> None:
    # Weekly rows saved under a daily name used to be read as daily factors: each return
    # of a daily price series then faced a week of factor returns.
    text = {"weekly": _fridays(ff3_daily_text), "daily": ff3_daily_text,
            "monthly": ff3_monthly_text}[found]
    stated = "weekly" if "weekly" in name else "daily"
    with pytest.raises(DataFormatError, match=re.escape(
            f"{name}, line 6: the file is named {stated} but holds {found} data ({detail})")):
        parse_french_csv(text, name)


HTML_PAGE = (
    "<!DOCTYPE html>\r\n<html><head><title>404 Not Found</title></head>\r\n"
    "<body><h1>Not Found</h1>\r\n,oops\r\n</body></html>\r\n"
)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (HTML_PAGE, "HTML page"),
        ("", "no table header row"),
        ("just some words\nand more words\n", "no table header row"),
        ("\x00\x01\x02PK garbage\x00,\x00", "binary data"),
        ("Title\n\n,Mkt-RF,RF\n", "no data rows"),
        ("Title\n\n,Mkt-RF,RF\n192607,1.0\n", "line 4: expected 2 values, found 1"),
        ("Title\n\n,Mkt-RF,RF\n192607,1.0,abc\n", "line 4: non-numeric value"),
        ("Title\n\n,Mkt-RF,RF\n192607,1.0,nan\n", "line 4: non-numeric value"),
        ("Title\n\n,Mkt-RF,RF\n192607,1.0,\n", "line 4: non-numeric value"),
        ("Title\n\n,Mkt-RF,RF\n192607,1.0,\u0663\n", "line 4: non-numeric value"),
        ("Title\n\n,Mkt-RF,RF\n192607,1.0,1_0\n", "line 4: non-numeric value"),
        ("Title\n\n,Mkt-RF,RF\nJul-26,1.0,0.2\n", "line 4: date code 'Jul-26'"),
        ("Title\n\n,Mkt-RF,RF\n192607,1,2\n1926070,1,2\n", "line 5: date code '1926070'"),
        ("Title\n\n,Mkt-RF,RF\n192613,1.0,0.2\n", "line 4: invalid date '192613'"),
        ("Title\n\n,Mkt-RF,,RF\n192607,1,2,3\n", "line 3: empty column name"),
        ("Title\n\n,Mkt-RF,MktRF\n192607,1,2\n", "line 3: duplicate column MKT"),
        ("Title\n\n,Mkt,SMB,RF\n192607,1,2,3\n", "line 3: column 'Mkt' is the total market"),
        ("Title\n\n,Market,RF\n192607,1,2\n", "line 3: column 'Market' is the total market"),
        ("T\n\n,RF\n19260701,1\n99991231,1\n", "line 5: date '99991231' is outside the dates"),
        ("T\n\n,RF\n16000101,1\n19260701,1\n", "line 4: date '16000101' is outside the dates"),
        ("T\n\n,RF\n192607,1\n999912,1\n", "line 5: date '999912' is outside the dates"),
        ("T\n\n,RF\n19260701,1\n21000101,1\n", "line 5: date '21000101' is after today"),
        ("T\n\n,RF\n19260701,1\n00000000,1\n", "line 5: invalid date '00000000'"),
        ("T\n\n,RF\n19260701,1\n19260230,1\n", "line 5: invalid date '19260230'"),
        ("T\n\n,RF\n19260701,1\n1926-07-02,1\n", "line 5: date code '1926-07-02' is not a"),
        ("T\n\n,RF\n192607,1\n192609,1\n192608,1\n", "line 6: date out of order 192608"),
        ("T\n\n,RF\n19260701,1\n19260701,1\n", "line 5: duplicate date 19260701"),
        ("T\n\n,RF\n1926,1\n", "main table has YYYY dates"),
        ("T\n\n,RF\n192607,1\n\nAnnual Factors\n,RF\n192612,1\n", "annual table needs YYYY"),
    ],
)
def test_bad_text_raises_data_format_error(text: str, message: str) -> None:
    with pytest.raises(DataFormatError, match=re.escape(message)) as info:
        parse_french_csv(text, "bad_file")
    assert "bad_file" in str(info.value)


def test_corrupt_row_in_real_file_names_the_line(ff3_daily_text: str) -> None:
    text = _replace_line(ff3_daily_text, "19260702,", "19260702,    0.45,   -0.33,   n/a,    0.01")
    with pytest.raises(DataFormatError, match=r"F-F_Research_Data_Factors_daily, line 7: non-num"):
        parse_french_csv(text, "F-F_Research_Data_Factors_daily")


def test_second_table_without_annual_title_is_ignored() -> None:
    text = "T\n\n,RF\n192607,1\n\nSomething else\n,RF\n1926,2\n"
    assert parse_french_csv(text).annual is None


def test_truncated_and_bad_zips(french_dir: Path) -> None:
    data = (french_dir / V2510 / "zip" / "F-F_Research_Data_Factors_daily_CSV.zip").read_bytes()
    for broken in (data[: len(data) // 2], data[:100], b"", b"<html>Service Unavailable</html>"):
        with pytest.raises(DataFormatError, match="not a readable zip"):
            read_french_zip(broken, "F-F_Research_Data_Factors_daily")
    # Damage inside the compressed stream while the directory stays intact.
    damaged = bytearray(data)
    damaged[200:400] = bytes(200)
    with pytest.raises(DataFormatError):
        read_french_zip(bytes(damaged), "F-F_Research_Data_Factors_daily")


def _zip_of(members: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, content in members.items():
            archive.writestr(member, content)
    return buffer.getvalue()


def test_zip_member_rules(ff3_monthly_text: str) -> None:
    lower = read_french_zip(_zip_of({"X.csv": ff3_monthly_text}))
    upper = read_french_zip(_zip_of({"X.CSV": ff3_monthly_text}))
    pd.testing.assert_frame_equal(lower.main, upper.main)
    assert lower.name == "X"
    with pytest.raises(DataFormatError, match="expected one CSV file"):
        read_french_zip(_zip_of({"a.csv": ff3_monthly_text, "b.csv": ff3_monthly_text}))
    with pytest.raises(DataFormatError, match="expected one CSV file"):
        read_french_zip(_zip_of({"readme.txt": "hello"}))


def test_read_french_path_errors(tmp_path: Path) -> None:
    with pytest.raises(DataUnavailableError, match="cannot read file"):
        read_french_path(tmp_path / "F-F_Research_Data_Factors.csv")
    other = tmp_path / "factors.xlsx"
    other.write_bytes(b"x")
    with pytest.raises(DataFormatError, match=r"\.zip or \.csv"):
        read_french_path(other)


def test_dataset_name() -> None:
    name = "F-F_Research_Data_Factors_daily"
    assert dataset_name(f"{name}_CSV.zip") == name
    assert dataset_name("F-F_Momentum_Factor.CSV") == "F-F_Momentum_Factor"
    assert dataset_name("F-F_Momentum_Factor_csv.ZIP") == "F-F_Momentum_Factor"


# ------------------------------------------------------------------ combining files


def test_datasets_table() -> None:
    assert DATASETS[("FF3", "W")] == "F-F_Research_Data_Factors_weekly"
    assert DATASETS[("FF5", "D")] == "F-F_Research_Data_5_Factors_2x3_daily"
    assert DATASETS[("MOM", "M")] == "F-F_Momentum_Factor"
    assert ("FF5", "W") not in DATASETS and ("MOM", "W") not in DATASETS
    assert len(DATASETS) == 7


def test_families_for() -> None:
    assert families_for(["MKT"]) == ("FF3",)
    assert families_for(["Mkt-RF", "SMB", "HML"]) == ("FF3",)
    assert families_for(["MKT", "SMB", "HML", "UMD"]) == ("FF3", "MOM")
    assert families_for(["MKT", "CMA"]) == ("FF5",)
    assert families_for(["MOM", "RMW"]) == ("FF5", "MOM")
    assert families_for(["MOM"]) == ("FF3", "MOM")  # RF still comes from a factor file
    assert families_for("MKT,SMB,RF") == ("FF3",)
    with pytest.raises(UnknownModelError):
        families_for(["MKT", "QMJ"])


@pytest.fixture(scope="module")
def monthly_files(french_dir: Path) -> dict[str, FrenchFile]:
    folder = french_dir / V2510 / "zip"
    return {
        family: read_french_path(folder / f"{DATASETS[(family, 'M')]}_CSV.zip")
        for family in ("FF3", "FF5", "MOM")
    }


def test_combine_carhart_monthly(monthly_files: dict[str, FrenchFile]) -> None:
    data = combine_factor_files(monthly_files, ["MOM", "Mkt-RF", "SMB", "HML"], "M", "src")
    returns = data.returns
    assert list(returns.columns) == ["MOM", "MKT", "SMB", "HML", "RF"]
    assert returns.index.name == "date"
    assert returns.index[0] == pd.Timestamp("1927-01-31")  # momentum starts later
    assert returns.index[-1] == pd.Timestamp("2025-10-31")
    assert len(returns) == 1_186
    assert (returns.dtypes == np.float64).all()
    assert data.release == "202510 CRSP" and data.frequency == "M" and data.source == "src"
    ff3 = monthly_files["FF3"].main
    pd.testing.assert_series_equal(returns["SMB"], ff3["SMB"].loc[returns.index])


def test_combine_five_factor_never_mixes_smb(monthly_files: dict[str, FrenchFile]) -> None:
    data = combine_factor_files(monthly_files, ["MKT", "SMB", "HML", "RMW", "CMA"], "M", "src")
    ff5 = monthly_files["FF5"].main
    pd.testing.assert_frame_equal(data.returns, ff5[["MKT", "SMB", "HML", "RMW", "CMA", "RF"]])
    ff3_smb = monthly_files["FF3"].main.loc["1963-07-31", "SMB"]
    assert data.returns.loc["1963-07-31", "SMB"] != ff3_smb


def test_combine_requires_matching_frequency_and_files(
    monthly_files: dict[str, FrenchFile],
) -> None:
    with pytest.raises(DataFormatError, match="monthly data, daily was expected"):
        combine_factor_files(monthly_files, ["MKT"], "D", "src")
    with pytest.raises(DataUnavailableError, match="no MOM factor file"):
        combine_factor_files({"FF3": monthly_files["FF3"]}, ["MKT", "MOM"], "M", "src")


def test_combine_notes_mixed_releases(
    monthly_files: dict[str, FrenchFile], french_dir: Path
) -> None:
    old_mom = read_french_path(french_dir / V2412 / "zip" / "F-F_Momentum_Factor_CSV.zip")
    files = {"FF3": monthly_files["FF3"], "MOM": old_mom}
    data = combine_factor_files(files, ["MKT", "MOM"], "M", "src")
    assert data.release == "202510 CRSP; 202412 CRSP"
    assert "factor files come from different releases" in data.notes
    assert data.returns.index[-1] == pd.Timestamp("2024-12-31")


# --------------------------------------------------------------- local directory


def test_french_files_over_zip_and_csv_folders(french_dir: Path) -> None:
    zips = FrenchFiles(french_dir / V2510 / "zip")
    csvs = FrenchFiles(french_dir / V2510 / "csv")
    assert zips.name == f"local French files ({french_dir / V2510 / 'zip'})"
    for factors, freq in ((["MKT", "SMB", "HML", "MOM"], "D"), (["MKT", "RMW", "CMA"], "M")):
        a, b = zips.get_factors(factors, freq), csvs.get_factors(factors, freq)
        pd.testing.assert_frame_equal(a.returns, b.returns)
        assert a.source == zips.name and a.release == "202510 CRSP"


def test_french_files_missing_and_unpublished(french_dir: Path) -> None:
    old = FrenchFiles(french_dir / V2412 / "zip")
    with pytest.raises(DataUnavailableError) as info:
        old.get_factors(["MKT", "RMW"], "M")
    message = str(info.value)
    assert "F-F_Research_Data_5_Factors_2x3_CSV.zip" in message
    assert "F-F_Research_Data_5_Factors_2x3.csv" in message
    with pytest.raises(DataUnavailableError, match="not published at weekly frequency"):
        old.get_factors(["MKT", "CMA"], "W")
    with pytest.raises(DataUnavailableError, match="directory not found"):
        FrenchFiles(french_dir / "no_such_folder").get_factors(["MKT"], "D")


def test_french_files_case_insensitive_and_reloads_changes(
    french_dir: Path, tmp_path: Path
) -> None:
    source = french_dir / V2510 / "csv" / "F-F_Research_Data_Factors.csv"
    target = tmp_path / "F-F_RESEARCH_DATA_FACTORS.CSV"
    shutil.copyfile(source, target)
    local = FrenchFiles(tmp_path)
    first = local.get_factors(["MKT"], "M").returns
    name = "F-F_Research_Data_Factors"
    assert local.load_file(name) is local.load_file(name)  # memoised while unchanged
    text = source.read_bytes().decode("ascii").replace("192607,   2.89,", "192607,   9.99,")
    target.write_text(text, "ascii", newline="")
    os.utime(target, ns=(target.stat().st_atime_ns, target.stat().st_mtime_ns + 10**9))
    second = local.get_factors(["MKT"], "M").returns
    assert first.iloc[0, 0] == pytest.approx(0.0289) and second.iloc[0, 0] == pytest.approx(0.0999)


def test_a_saved_file_of_another_dataset_is_refused(french_dir: Path, tmp_path: Path) -> None:
    zips = french_dir / V2510 / "zip"
    shutil.copyfile(zips / "F-F_Research_Data_5_Factors_2x3_daily_CSV.zip",
                    tmp_path / "F-F_Research_Data_Factors_daily_CSV.zip")
    with pytest.raises(DataFormatError, match=re.escape(
            "asked for F-F_Research_Data_Factors_daily, but the zip holds "
            "'F-F_Research_Data_5_Factors_2x3_daily.csv'")):
        FrenchFiles(tmp_path).get_factors(["MKT", "SMB", "HML"], "D")
    # the unzipped five-factor CSV saved under the three-factor name
    text = _raw_text(zips / "F-F_Research_Data_5_Factors_2x3_daily_CSV.zip")
    (tmp_path / "F-F_Research_Data_Factors_daily_CSV.zip").unlink()
    (tmp_path / "F-F_Research_Data_Factors_daily.csv").write_text(text, "ascii", newline="")
    with pytest.raises(DataFormatError, match=re.escape(
            "F-F_Research_Data_Factors_daily.csv: F-F_Research_Data_Factors_daily: asked for "
            "the three-factor file (MKT, SMB, HML, RF), but the file holds MKT, SMB, HML, RMW, "
            "CMA, RF (the five-factor file's columns)")):
        FrenchFiles(tmp_path).get_factors(["MKT", "SMB", "HML"], "D")


def test_a_total_market_column_is_not_taken_as_the_excess_return(
    ff3_daily_text: str, tmp_path: Path
) -> None:
    # Mkt-RF + RF written as ",Mkt": the market's total return, as other exports label it
    lines = ff3_daily_text.split("\r\n")
    header = lines.index(",Mkt-RF,SMB,HML,RF")
    lines[header] = ",Mkt,SMB,HML,RF"
    for k in range(header + 1, len(lines)):
        fields = lines[k].split(",")
        if not re.fullmatch(r"\d{8}", fields[0]):
            break
        total = float(fields[1]) + float(fields[4])
        lines[k] = ",".join([fields[0], f"{total:8.2f}", *fields[2:]])
    (tmp_path / "F-F_Research_Data_Factors_daily.csv").write_text(
        "\r\n".join(lines), "ascii", newline="")
    with pytest.raises(DataFormatError, match=re.escape(
            "F-F_Research_Data_Factors_daily.csv: F-F_Research_Data_Factors_daily, line 5: "
            "column 'Mkt' is the total market return, not the market excess return")):
        FrenchFiles(tmp_path).get_factors(["MKT", "SMB", "HML"], "D")


def test_combined_files_keep_a_date_one_of_them_lacks(french_dir: Path) -> None:
    folder = french_dir / V2510 / "zip"
    ff3 = read_french_path(folder / "F-F_Research_Data_Factors_daily_CSV.zip")
    mom_text = _raw_text(folder / "F-F_Momentum_Factor_daily_CSV.zip")
    kept = [line for line in mom_text.split("\r\n") if not line.startswith("20210301,")]
    mom = parse_french_csv("\r\n".join(kept), "F-F_Momentum_Factor_daily")
    assert pd.Timestamp("2021-03-01") not in mom.main.index
    data = combine_factor_files({"FF3": ff3, "MOM": mom}, ["MKT", "MOM"], "D", "src")
    day = data.returns.loc["2021-03-01"]
    assert np.isnan(day["MOM"]) and day["MKT"] == pytest.approx(0.0262)
    # the span is the files' common one: momentum starts later than the three factors
    assert data.returns.index[0] == pd.Timestamp("1926-11-03")
    assert data.returns.index[-1] == pd.Timestamp("2025-10-31")
    assert len(data.returns) == 26_009  # momentum's rows, less 03-01, plus it from FF3


def _with_column(text: str, header: str, name: str) -> str:
    """``text`` with a column ``name`` added to the table under ``header``: a copy of the
    table's first column, so that the values keep the file's scale."""
    lines = text.split("\r\n")
    k = lines.index(header)
    lines[k] += f",{name}"
    k += 1
    while lines[k].strip() and re.match(r"\s*\d", lines[k]):
        lines[k] += "," + lines[k].split(",")[1]
        k += 1
    return "\r\n".join(lines)


@pytest.mark.parametrize(("dataset", "header", "added", "refused"), [
    ("F-F_Momentum_Factor_daily", ",Mom", "RF", False),  # a column the library might add
    ("F-F_Research_Data_Factors_daily", ",Mkt-RF,SMB,HML,RF", "New", False),
    ("F-F_Research_Data_Factors_daily", ",Mkt-RF,SMB,HML,RF", "RMW", True),
    ("F-F_Momentum_Factor_daily", ",Mom", "HML", True),
])
def test_contents_check_allows_additions_not_other_datasets(
    french_dir: Path, dataset: str, header: str, added: str, refused: bool
) -> None:
    from xlfactor.data.french import check_contents

    text = _raw_text(french_dir / V2510 / "zip" / f"{dataset}_CSV.zip")
    header = next(line for line in text.split("\r\n") if line.replace(" ", "") == header)
    file = parse_french_csv(_with_column(text, header, added), dataset)
    if refused:
        with pytest.raises(DataFormatError, match=f"{dataset}: asked for the"):
            check_contents(file, dataset)
    else:
        check_contents(file, dataset)
