"""Render the template to PDF and PNG pages for eyeballing: ``python workbook/render.py``.

Needs LibreOffice (``soffice``) and poppler's ``pdftoppm`` on the PATH, e.g.
``apt-get install libreoffice-calc poppler-utils``. Output goes to ``build/render/``
(ignored by git), in two folders:

``template/``
    The committed workbook as it is. LibreOffice has no Python behind the FACTOR_*
    functions, so those cells show ``#NAME?``; Excel's own LINEST computes.
``preview/``
    The workbook after a Refresh on the offline sample, made by values mode (the code of
    ``xlfactor refresh``): every FACTOR_* formula computed by the functions of
    :mod:`xlfactor.udfs` and written where Excel would spill it, the real charts placed.
    This shows the column widths, number formats and chart placement with numbers in
    the cells. (The copy is an ``.xlsx``: no buttons, no macros.)
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
TEMPLATE = HERE / "xlfactor_template.xlsm"
OUT = HERE.parent / "build" / "render"


def require(tool: str) -> str:
    """Full path of a command-line tool, or a clear error naming the package to install."""
    found = shutil.which(tool)
    if found is None:
        raise SystemExit(f"{tool} not found: install libreoffice-calc and poppler-utils")
    return found


#: LibreOffice setting: recalculate OOXML files on load (0 = always). Its default keeps the
#: cached values XlsxWriter wrote (zeros), which would hide what the formulas show.
_RECALC_ON_LOAD = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry"
 xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load">
<prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
</oor:items>
"""


def _soffice(profile: str, target: str, source: Path, out_dir: Path) -> None:
    subprocess.run(
        [require("soffice"), f"-env:UserInstallation=file://{profile}", "--headless",
         "--convert-to", target, "--outdir", str(out_dir), str(source)],
        check=True, capture_output=True, timeout=300,
    )


def printable_buttons(ods: Path) -> None:
    """Mark the form buttons printable, so the PDF shows where they sit.

    Excel's buttons are not printed (XlsxWriter writes them so, as Excel does); the render
    is for checking their position and caption, so this copy flips the flag.
    """
    with zipfile.ZipFile(ods) as book:
        members = [(info, book.read(info.filename)) for info in book.infolist()]
    with zipfile.ZipFile(ods, "w") as book:
        # ODF wants the uncompressed "mimetype" member first: keep order and compression.
        for info, data in members:
            if info.filename == "content.xml":
                data = data.replace(b'form:printable="false"', b'form:printable="true"')
            book.writestr(info, data, compress_type=info.compress_type)


def to_pdf(workbook: Path, out_dir: Path) -> Path:
    """Convert via ODS with a throw-away LibreOffice profile (a shared one may be locked)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="lo-profile-") as profile, \
            tempfile.TemporaryDirectory(prefix="lo-ods-") as middle:
        user = Path(profile) / "user"
        user.mkdir()
        (user / "registrymodifications.xcu").write_text(_RECALC_ON_LOAD, encoding="utf-8")
        _soffice(profile, "ods", workbook, Path(middle))
        ods = Path(middle) / (workbook.stem + ".ods")
        printable_buttons(ods)
        _soffice(profile, "pdf", ods, out_dir)
    pdf = out_dir / (workbook.stem + ".pdf")
    if not pdf.is_file():
        raise SystemExit(f"LibreOffice produced no PDF for {workbook}")
    return pdf


def to_png(pdf: Path, out_dir: Path, dpi: int = 80) -> list[Path]:
    """One PNG per PDF page, named page-1.png, page-2.png..."""
    for old in out_dir.glob("page-*.png"):
        old.unlink()
    subprocess.run([require("pdftoppm"), "-png", "-r", str(dpi), str(pdf), str(out_dir / "page")],
                   check=True, capture_output=True, timeout=300)
    pages = sorted(out_dir.glob("page-*.png"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
    return pages


# -- preview: a Refresh on the offline sample, without Excel ------------------------------------
#: Inputs for the preview: sample portfolios (the offline data are monthly, 1949-2017).
PREVIEW_INPUTS: dict[str, Any] = {
    "Tickers": ["NoDur", "Hlth", "Enrgy", "S1V1", "S5V5"],
    "Model": "CARHART4",
    "StartDate": datetime(2010, 1, 1),
    "EndDate": datetime(2017, 3, 31),
    "Freq": "M",
    "SEType": "HAC",
    "NWLags": None,
    "Window": 36,
    "Region": "US",
    # Typed over the template's equal-weight formulas.
    "Weights": [0.3, 0.25, 0.2, 0.15, 0.1],
    "Rebalance": "daily",
}


def make_preview(template: Path, out: Path) -> Path:
    """A copy of ``template`` as it looks after Refresh on the offline sample: the preview
    inputs typed in, then ``xlfactor refresh`` (values mode, the same code as the command)."""
    from openpyxl import load_workbook

    os.environ["XLFACTOR_SOURCE"] = "sample"
    from xlfactor.excel.books import split_address
    from xlfactor.excel.file_refresh import refresh_file

    wb = load_workbook(template)
    for name, value in PREVIEW_INPUTS.items():
        sheet, address = wb.defined_names[name].attr_text.rsplit("!", 1)
        top, left, bottom, _ = split_address(address)
        values = value + [None] * (bottom - top + 1 - len(value)) if isinstance(value, list) \
            else [value]
        for i, item in enumerate(values):
            wb[sheet.strip("'")].cell(row=top + i, column=left).value = item
    with tempfile.TemporaryDirectory(prefix="xlfactor-preview-") as folder:
        inputs = Path(folder) / "inputs.xlsx"
        wb.save(inputs)
        report = refresh_file(inputs, out)
    print(f"preview refresh: {report.warnings[-1] if report.warnings else 'done'}")
    return out


def render(workbook: Path, out_dir: Path, dpi: int) -> list[Path]:
    pdf = to_pdf(workbook, out_dir)
    return [pdf, *to_png(pdf, out_dir, dpi)]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Render the template workbook to PNG pages.")
    parser.add_argument("workbook", nargs="?", type=Path, default=TEMPLATE)
    parser.add_argument("--out", type=Path, default=OUT, help="output folder")
    parser.add_argument("--dpi", type=int, default=80)
    parser.add_argument("--no-preview", action="store_true",
                        help="render only the template, not the refreshed preview")
    args = parser.parse_args(argv)
    files = render(args.workbook, args.out / "template", args.dpi)
    if not args.no_preview:
        preview = make_preview(args.workbook, args.out / "preview" / "xlfactor_preview.xlsx")
        files += render(preview, args.out / "preview", args.dpi)
    print("\n".join(str(p) for p in files))
    return 0


if __name__ == "__main__":
    sys.exit(main())
