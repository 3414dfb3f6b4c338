"""What ties the template to xlwings: the embedded VBA project, its macros, the settings sheet.

Macros
------
XlsxWriter cannot write VBA, only embed an existing ``vbaProject.bin``. The project is
taken, at generation time, from xlwings' ``quickstart_standalone.xlsm`` in the installed
xlwings package. It holds ``Module1.SampleCall`` (runs ``RunPython "import <name>;
<name>.main()"``, ``<name>`` being the workbook's file name without extension) and the
complete xlwings VBA module (``RunPython``, ``ImportPythonUDFs``...).

The standalone project is used rather than ``quickstart.xlsm``'s because the latter's
only link to ``RunPython`` is a VBA reference to the xlwings add-in at the path of the
machine that built it; when Excel cannot resolve that reference the whole project fails
to compile and no button works. The standalone project needs no add-in, and its
``ImportPythonUDFs`` lets a button import the worksheet functions. The price is that the
embedded VBA is tied to one xlwings version (it loads ``xlwings64-<version>.dll``), so the
Python environment needs that same xlwings version; re-running ``workbook/generate.py``
after an xlwings upgrade re-embeds the matching VBA. The version is shown on the How to
sheet.

The buttons therefore call ``SampleCall`` (Refresh, via ``xlfactor_template.py`` next to
the workbook, see :mod:`xlfactor.excel.refresh`) and ``ImportPythonUDFs`` (Import functions).

Settings sheet
--------------
xlwings reads workbook settings only from a sheet named exactly ``xlwings.conf``
(``GetConfigFromSheet`` opens ``Sheets("xlwings.conf")``); the quickstart ships it as
``_xlwings.conf``, which is how it is switched off. The template's sheet is active, so
``UDF Modules = xlfactor.udfs`` takes effect, and it holds only keys with a value: an
empty key there would override the add-in's setting (e.g. the interpreter) with nothing.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from xlsxwriter.workbook import Workbook

from template_builder.formats import Styles
from template_builder.writing import page_setup, put_text

VBA_SOURCE = "quickstart_standalone.xlsm"
REFRESH_MACRO = "SampleCall"
IMPORT_MACRO = "ImportPythonUDFs"
UDF_MODULE = "xlfactor.udfs"
CONF_SHEET = "xlwings.conf"


def xlwings_vba_project() -> tuple[bytes, str]:
    """The VBA project of the installed xlwings' standalone quickstart, and xlwings' version.

    Returns
    -------
    tuple of (bytes, str)
        The ``vbaProject.bin`` to embed and the version of xlwings it belongs to.
    """
    import xlwings

    source = Path(xlwings.__file__).resolve().parent / VBA_SOURCE
    with zipfile.ZipFile(source) as book:
        return book.read("xl/vbaProject.bin"), xlwings.__version__


def conf_sheet(wb: Workbook, st: Styles) -> None:
    """Add xlwings' settings sheet, active (named ``xlwings.conf``).

    xlwings reads the key/value pairs from A1 down to the first blank row, and a key found
    here wins over the add-in's setting even when its value is empty. So only keys with a
    value we want sit in that block; the interpreter keys wait below the gap, where the
    add-in's (or the user's xlwings.conf file's) settings keep applying.

    Parameters
    ----------
    wb : Workbook
        The workbook to add the sheet to.
    st : Styles
        The workbook's styles.
    """
    ws = wb.add_worksheet(CONF_SHEET)
    ws.set_tab_color("#A9D08E")
    ws.set_column(0, 0, 18)
    ws.set_column(1, 1, 16)
    ws.set_column(2, 2, 100)
    active = [
        ("UDF Modules", UDF_MODULE,
         "Module(s) that Import Functions reads: the FACTOR_* worksheet functions."),
        ("Debug UDFs", False, ("TRUE: run the functions in a visible Python for debugging "
                               "(Windows; start it yourself).")),
        ("Use UDF Server", False, ("TRUE: Refresh runs inside the functions' Python process "
                                   "(faster start); FALSE: a fresh Python per click.")),
        ("Show Console", False, ("TRUE: show the Python console window while Python runs "
                                 "(Windows).")),
    ]
    for r, (key, value, note) in enumerate(active):
        put_text(ws, r, 0, key, st.conf_key)
        if isinstance(value, bool):
            ws.write_boolean(r, 1, value, st.conf_value)
        else:
            put_text(ws, r, 1, value, st.conf_value)
        put_text(ws, r, 2, note, st.note)
    row = len(active) + 1
    put_text(ws, row, 0, "How xlwings reads this sheet", st.section)
    rules = [
        ("xlwings reads the key/value pairs from A1 down to the first blank row; everything below "
         "the blank row is ignored."),
        ("A key in that block overrides the xlwings add-in and xlwings.conf files, even with an "
         "empty value: add only rows that have a value."),
        ("The optional keys below are parked for that reason. To use one, fill in column B and "
         "move the row up into the block (no blank row in between)."),
        ("The sheet must be named exactly xlwings.conf (xlwings' quickstart ships it as "
         "_xlwings.conf, which switches it off)."),
    ]
    for text in rules:
        row += 1
        put_text(ws, row, 0, text, st.note)
    row += 2
    parked = [
        ("Interpreter_Win", (r"Full path of python.exe or pythonw.exe, e.g. "
                             r"C:\Users\me\miniforge3\envs\xlf\pythonw.exe")),
        ("Interpreter_Mac", "Full path of python, e.g. /Users/me/miniforge3/envs/xlf/bin/python"),
        ("PYTHONPATH", ("Extra folders for Python's import path (the workbook's folder is "
                        "added anyway).")),
        ("Conda Path", r"Conda installation folder, e.g. C:\Users\me\miniforge3 (with Conda Env)."),
        ("Conda Env", "Conda environment name, e.g. xlf (with Conda Path)."),
    ]
    put_text(ws, row, 0, "Optional keys (inactive here)", st.section)
    for key, note in parked:
        row += 1
        put_text(ws, row, 0, key, st.conf_parked)
        ws.write_blank(row, 1, None, st.conf_parked)
        put_text(ws, row, 2, note, st.note)
    page_setup(ws)
