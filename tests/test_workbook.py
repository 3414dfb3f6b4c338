"""The committed template workbook, read as Excel would read it (the zip's XML).

Checks: it equals a fresh ``python workbook/generate.py``; every formula calls a function
of :mod:`xlfactor.udfs` (with an argument count the Python signature accepts) or a known
Excel built-in, and names only defined names; the FACTOR_* formulas are dynamic-array
formulas; every button's macro exists in the embedded VBA project; the ``xlwings.conf``
sheet points xlwings at ``xlfactor.udfs``; text from data cannot become a formula; the
label-keyed formats and reserved rows of the result tables agree with the rows FACTOR_STATS,
FACTOR_ATTRIBUTION and FACTOR_GRS really produce (the specs of :mod:`xlfactor.excel.tables`).
"""

from __future__ import annotations

import importlib.util
import inspect
import re
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from xml.etree import ElementTree as ET

import pytest

import xlfactor.udfs
from xlfactor.excel import refresh

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "workbook" / "xlfactor_template.xlsm"
NS = {
    "m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "rel": "http://schemas.openxmlformats.org/package/2006/relationships",
    "xda": "http://schemas.microsoft.com/office/spreadsheetml/2017/dynamicarray",
}
R_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"

#: Excel built-ins the template may use: name -> (fewest, most) arguments, from Excel's
#: function reference.
BUILTINS = {
    "ABS": (1, 1),
    "AND": (1, 255),
    "COUNTA": (1, 255),
    "IF": (2, 3),
    "INDEX": (2, 4),
    "ISNA": (1, 1),
    "ISNUMBER": (1, 1),
    "ISTEXT": (1, 1),
    "LEFT": (1, 2),
    "LINEST": (1, 4),
    "OR": (1, 255),
    "SUM": (1, 255),
}
FORMULA_START = ("=", "+", "-", "@")

# oletools still calls pyparsing's pre-3.0 method names; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:oletools")


# -- reading the workbook -------------------------------------------------------------------
def load_generate() -> ModuleType:
    spec = importlib.util.spec_from_file_location("xlfactor_generate",
                                                  ROOT / "workbook" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    # dataclasses look their module up in sys.modules while the class is created.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def generate() -> ModuleType:
    return load_generate()


@pytest.fixture(scope="module")
def template() -> zipfile.ZipFile:
    assert TEMPLATE.is_file(), "run python workbook/generate.py and commit the result"
    with zipfile.ZipFile(TEMPLATE) as book:
        yield book


def sheet_parts(book: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> path of its XML part, through the workbook's relationships."""
    workbook = ET.fromstring(book.read("xl/workbook.xml"))
    rels = ET.fromstring(book.read("xl/_rels/workbook.xml.rels"))
    targets = {r.get("Id"): r.get("Target") for r in rels.findall("rel:Relationship", NS)}
    return {s.get("name"): "xl/" + targets[s.get(R_ID)].lstrip("/").removeprefix("xl/")
            for s in workbook.findall("m:sheets/m:sheet", NS)}


def defined_names(book: zipfile.ZipFile) -> dict[str, str]:
    workbook = ET.fromstring(book.read("xl/workbook.xml"))
    return {d.get("name"): d.text for d in workbook.findall("m:definedNames/m:definedName", NS)}


def shared_strings(book: zipfile.ZipFile) -> list[str]:
    root = ET.fromstring(book.read("xl/sharedStrings.xml"))
    return ["".join(t.text or "" for t in si.iter(f"{{{NS['m']}}}t"))
            for si in root.findall("m:si", NS)]


@dataclass(frozen=True)
class Formula:
    sheet: str
    ref: str
    text: str
    element: ET.Element | None  # the <c> element (None for conditional-format rules)


def formulas(book: zipfile.ZipFile) -> list[Formula]:
    """Every cell formula and every conditional-format formula, per sheet."""
    found = []
    for sheet, part in sheet_parts(book).items():
        root = ET.fromstring(book.read(part))
        for c in root.iter(f"{{{NS['m']}}}c"):
            f = c.find("m:f", NS)
            if f is not None and f.text:
                found.append(Formula(sheet, c.get("r"), f.text, c))
        for rule in root.iter(f"{{{NS['m']}}}cfRule"):
            for f in rule.findall("m:formula", NS):
                found.append(Formula(sheet, "conditional format", f.text, None))
    return found


# -- a small formula scanner ------------------------------------------------------------------
_TOKEN = re.compile(r"""
    (?P<string>"(?:[^"]|"")*")
  | (?P<sheetref>(?:'(?:[^']|'')+'|[A-Za-z_][\w.]*)!)
  | (?P<ident>[A-Za-z_$][\w.$]*)(?P<call>\()?
  | (?P<open>\()
  | (?P<close>\))
  | (?P<comma>,)
  | (?P<other>[^"'A-Za-z_$(),]+)
""", re.VERBOSE)
_CELL = re.compile(r"^\$?[A-Z]{1,3}\$?\d+$")


def scan(formula: str) -> tuple[list[tuple[str, int]], set[str]]:
    """Function calls as (name, argument count) and the other identifiers (defined names).

    Sheet-qualified references and cell references are skipped; ``TRUE``/``FALSE`` too.
    """
    calls: list[tuple[str, int]] = []
    names: set[str] = set()
    stack: list[list] = []  # [function name or None, commas, saw anything]
    for m in _TOKEN.finditer(formula):
        kind = m.lastgroup if m.lastgroup != "call" else "ident"
        if stack and kind not in ("close", "comma"):
            stack[-1][2] = True
        if m.group("ident"):
            ident = m.group("ident")
            if m.group("call"):
                stack.append([ident, 0, False])
            elif not _CELL.match(ident.upper()) and ident.upper() not in ("TRUE", "FALSE"):
                names.add(ident)
        elif kind == "open":
            stack.append([None, 0, False])
        elif kind == "comma" and stack:
            stack[-1][1] += 1
            stack[-1][2] = True
        elif kind == "close":
            name, commas, seen = stack.pop()
            if name is not None:
                calls.append((name, commas + 1 if seen else 0))
    assert not stack, f"unbalanced parentheses in {formula!r}"
    return calls, names


def test_scanner_counts_arguments():
    calls, names = scan('IF(ISNUMBER($H$9),K22-H9,"a,b(")+FACTOR_X(INDEX(T,1),,M)')
    assert sorted(calls) == [("FACTOR_X", 3), ("IF", 3), ("INDEX", 2), ("ISNUMBER", 1)]
    assert names == {"T", "M"}
    assert scan("FACTOR_MODELS()")[0] == [("FACTOR_MODELS", 0)]
    assert scan("'How to'!A1+Sheet2!B2")[1] == set()


def udf_bounds() -> dict[str, tuple[int, int]]:
    """Each UDF's (required, total) formula arguments, from its Python signature (without
    xlwings' reserved ``caller``, which a formula never passes)."""
    out = {}
    for name, func in vars(xlfactor.udfs).items():
        if inspect.isfunction(func) and func.__module__ == "xlfactor.excel.udfs" and name.isupper():
            params = [p for p in inspect.signature(func).parameters.values()
                      if p.name != "caller"]
            required = sum(p.default is inspect.Parameter.empty for p in params)
            out[name] = (required, len(params))
    return out


# -- freshness -----------------------------------------------------------------------------
def test_template_matches_fresh_generation(template, generate, tmp_path):
    import xlwings

    custom = template.read("docProps/custom.xml").decode()
    recorded = re.search(r'name="xlwings_version"[^>]*>\s*<vt:lpwstr>([^<]+)<', custom)
    assert recorded, "the template does not record its xlwings version"
    assert recorded.group(1) == xlwings.__version__, (
        f"the template embeds the VBA of xlwings {recorded.group(1)} but xlwings "
        f"{xlwings.__version__} is installed; the standalone VBA must match the Python "
        "package: run python workbook/generate.py and commit the template")
    fresh = generate.build(tmp_path / "xlfactor_template.xlsm")
    with zipfile.ZipFile(fresh) as new:
        assert sorted(new.namelist()) == sorted(template.namelist())
        changed = [n for n in template.namelist() if new.read(n) != template.read(n)]
    assert not changed, f"stale template, regenerate with python workbook/generate.py: {changed}"


def test_generation_is_byte_reproducible(generate, tmp_path):
    first = generate.build(tmp_path / "a.xlsm").read_bytes()
    second = generate.build(tmp_path / "b.xlsm").read_bytes()
    assert first == second


def test_vba_project_is_the_installed_xlwings_standalone_one(template):
    import xlwings

    source = Path(xlwings.__file__).parent / "quickstart_standalone.xlsm"
    with zipfile.ZipFile(source) as quickstart:
        assert template.read("xl/vbaProject.bin") == quickstart.read("xl/vbaProject.bin")


# -- formulas --------------------------------------------------------------------------------
def test_every_function_is_a_udf_or_a_builtin_with_a_valid_argument_count(template):
    bounds = udf_bounds()
    assert "FACTOR_BETAS" in bounds
    used = set()
    problems = []
    for f in formulas(template):
        calls, _ = scan(f.text)
        for name, n in calls:
            bare = name.upper().removeprefix("_XLFN.").removeprefix("_XLWS.")
            used.add(bare)
            low, high = bounds.get(bare) or BUILTINS.get(bare) or (None, None)
            if low is None:
                problems.append(f"{f.sheet}!{f.ref}: unknown function {name} in {f.text}")
            elif not low <= n <= high:
                problems.append(f"{f.sheet}!{f.ref}: {name} with {n} arguments "
                                f"(accepts {low}..{high}) in {f.text}")
    assert not problems, "\n".join(problems)
    assert {"FACTOR_BETAS", "FACTOR_RSQ", "FACTOR_TSTATS", "FACTOR_STATS", "FACTOR_ROLLING",
            "FACTOR_DATA", "FACTOR_REGRESS", "LINEST", "FACTOR_ATTRIBUTION", "FACTOR_COMPARE",
            "FACTOR_GRS", "FACTOR_PORTFOLIO"} <= used


def outer_arguments(formula: str) -> list[str]:
    """The top-level arguments of a formula's outer call, as written."""
    body = formula[formula.index("(") + 1:formula.rindex(")")]
    args, depth, start = [], 0, 0
    for i, ch in enumerate(body):
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            args.append(body[start:i])
            start = i + 1
    return [*args, body[start:]]


#: Functions whose template formulas pass arguments after ``region``: FACTOR_ALPHA's
#: standard errors came last, so that formulas written before them keep their meaning.
AFTER_REGION = {"FACTOR_ALPHA": (refresh.NAME_SE, refresh.NAME_LAGS)}


def test_every_factor_formula_passes_the_region_input(template):
    """A function with a ``region`` parameter gets the Region input in region's place (so
    every argument before it is given), as its last argument but where
    :data:`AFTER_REGION` names what follows."""
    with_region = {name for name, func in vars(xlfactor.udfs).items()
                   if name.startswith("FACTOR_") and inspect.isfunction(func)
                   and "region" in inspect.signature(func).parameters}
    assert {"FACTOR_BETAS", "FACTOR_ATTRIBUTION", "FACTOR_COMPARE", "FACTOR_GRS",
            "FACTOR_PORTFOLIO"} <= with_region
    checked = set()
    for f in formulas(template):
        outer = re.match(r"^([A-Z_]+)\(", f.text)
        if outer is None or outer.group(1) not in with_region:
            continue
        name = outer.group(1)
        count = dict(scan(f.text)[0])[name]
        params = [p for p in inspect.signature(getattr(xlfactor.udfs, name)).parameters
                  if p != "caller"]
        args = outer_arguments(f.text)
        at = params.index("region")
        assert count == len(args) and args[at] == refresh.NAME_REGION, f"{f.sheet}!{f.ref}: {f.text}"
        assert tuple(args[at + 1:]) == AFTER_REGION.get(name, ()), f"{f.sheet}!{f.ref}: {f.text}"
        checked.add(name)
    # not on the template: PVALUES and SE (TSTATS is), FIT (returns typed in by the user),
    # DIAGNOSTICS (typed in where wanted)
    assert checked == with_region - {"FACTOR_PVALUES", "FACTOR_SE", "FACTOR_FIT",
                                     "FACTOR_DIAGNOSTICS"}


def test_no_future_function_prefixes_needed(template):
    # Only functions that predate Excel 2010 and our UDFs are used: neither needs the
    # _xlfn./_xlws. prefixes XlsxWriter adds for newer functions.
    assert not [f.text for f in formulas(template) if "_xl" in f.text.lower()]


def test_formulas_refer_only_to_defined_names(template):
    names = defined_names(template)
    unknown = {(f.sheet, n) for f in formulas(template) for n in scan(f.text)[1]
               if n not in names}
    assert not unknown


def test_udf_formulas_are_dynamic_arrays(template):
    metadata = ET.fromstring(template.read("xl/metadata.xml"))
    dynamic = metadata.findall(".//xda:dynamicArrayProperties", NS)
    assert dynamic and all(d.get("fDynamic") == "1" for d in dynamic)
    cell_blocks = metadata.findall("m:cellMetadata/m:bk", NS)
    spilled = [f for f in formulas(template) if f.element is not None
               and any(n.startswith("FACTOR_") or n == "LINEST" for n, _ in scan(f.text)[0])]
    assert len(spilled) >= 13  # twelve FACTOR_* tables and LINEST
    for f in spilled:
        cm = f.element.get("cm")
        assert cm is not None and 1 <= int(cm) <= len(cell_blocks), f"{f.sheet}!{f.ref}"
        assert f.element.find("m:f", NS).get("t") == "array", f"{f.sheet}!{f.ref}"
    # Excel finds the metadata part through the package's content types and relationships.
    assert b'PartName="/xl/metadata.xml"' in template.read("[Content_Types].xml")
    assert b'Target="metadata.xml"' in template.read("xl/_rels/workbook.xml.rels")


def test_output_names_anchor_the_udf_formulas(template):
    names = defined_names(template)
    by_cell = {(f.sheet, f.ref): f.text for f in formulas(template) if f.element is not None}
    outputs = {n: ref for n, ref in names.items() if n.startswith(refresh.OUTPUT_PREFIX)}
    assert len(outputs) >= 12
    for name, ref in outputs.items():
        sheet, cell = ref.split("!")
        text = by_cell.get((sheet.strip("'"), cell.replace("$", "")))
        assert text and text.startswith("FACTOR_"), f"{name} -> {ref}"


def test_names_refresh_reads_exist(template):
    names = defined_names(template)
    wanted = {*refresh.INPUT_NAMES, *refresh.STAMP_NAMES, *(s.anchor for s in refresh.CHART_SPOTS)}
    assert wanted <= set(names)


# -- the Analysis sheet and its inputs -------------------------------------------------------------
def test_sheets_in_order_with_analysis_after_factors(template, generate):
    order = list(sheet_parts(template))
    assert order == list(generate.SHEETS)
    assert order.index("Analysis") == order.index("Factors") + 1


def test_analysis_sheet_holds_the_four_analyses_and_the_chart_anchor(template):
    names = defined_names(template)
    by_cell = {(f.sheet, f.ref): f.text for f in formulas(template) if f.element is not None}
    expected = {"Out_Attribution": "FACTOR_ATTRIBUTION(INDEX(Tickers,1),",
                "Out_Compare": "FACTOR_COMPARE(INDEX(Tickers,1),",
                "Out_Portfolio": "FACTOR_PORTFOLIO(Tickers,Weights,",
                "Out_GRS": "FACTOR_GRS(Tickers,"}
    for name, start in expected.items():
        sheet, ref = names[name].split("!")
        assert sheet == "Analysis", name
        assert by_cell[(sheet, ref.replace("$", ""))].startswith(start), name
    portfolio = by_cell[("Analysis", names["Out_Portfolio"].split("!")[1].replace("$", ""))]
    assert f",{refresh.NAME_REBALANCE}," in portfolio
    assert '"table"' in by_cell[("Analysis", names["Out_Attribution"].split("!")[1].replace("$", ""))]
    anchor = names[refresh.CHART_ATTRIBUTION.anchor]
    assert anchor.startswith("Analysis!")
    # The chart sits right of the tables: no formula in its anchor's column or beyond.
    from openpyxl.utils.cell import column_index_from_string, coordinate_from_string

    def column(ref: str) -> int:
        return column_index_from_string(coordinate_from_string(ref.replace("$", ""))[0])

    chart_col = column(anchor.split("!")[1])
    assert not [f.ref for f in formulas(template) if f.sheet == "Analysis" and f.element is not None
                and column(f.ref) >= chart_col]


def validations(book: zipfile.ZipFile, sheet: str) -> dict[str, ET.Element]:
    root = ET.fromstring(book.read(sheet_parts(book)[sheet]))
    return {v.get("sqref"): v for v in root.iter(f"{{{NS['m']}}}dataValidation")}


def test_region_and_rebalance_inputs_are_dropdowns_of_the_valid_values(template):
    from openpyxl import load_workbook

    from xlfactor.domain.regions import REGIONS
    from xlfactor.engine.portfolio import REBALANCING

    names = defined_names(template)
    found = validations(template, "Inputs")
    wb = load_workbook(TEMPLATE, read_only=True)
    try:
        ws = wb["Inputs"]
        for name, values, default in ((refresh.NAME_REGION, list(REGIONS), "US"),
                                      (refresh.NAME_REBALANCE, list(REBALANCING), "daily")):
            sheet, ref = names[name].split("!")
            assert sheet == "Inputs"
            ref = ref.replace("$", "")
            rule = found[ref]
            assert rule.get("type") == "list"
            listed = rule.find("m:formula1", NS).text.strip('"').split(",")
            assert listed == values, name
            assert ws[ref].value == default
    finally:
        wb.close()
    assert list(REGIONS) == ["US", "Developed", "Developed ex US", "Europe", "Japan",
                             "Asia Pacific ex Japan", "North America", "Emerging"]


def test_weights_pair_with_the_tickers_and_start_equal(template):
    names = defined_names(template)
    tickers = names[refresh.NAME_TICKERS].split("!")[1].replace("$", "")
    weights = names[refresh.NAME_WEIGHTS].split("!")[1].replace("$", "")
    (t_col, t_first, t_last), (w_col, w_first, w_last) = (
        re.match(r"([A-Z]+)(\d+):\1(\d+)$", ref).groups() for ref in (tickers, weights))
    assert (w_first, w_last) == (t_first, t_last)
    assert ord(w_col) == ord(t_col) + 1
    on_inputs = {f.ref: f.text for f in formulas(template)
                 if f.sheet == "Inputs" and f.element is not None}
    for row in range(int(t_first), int(t_last) + 1):
        assert on_inputs[f"{w_col}{row}"] == \
            f'IF({t_col}{row}="","",1/COUNTA({refresh.NAME_TICKERS}))'
    total = f"{w_col}{int(t_last) + 1}"
    assert on_inputs[total] == f"SUM(${w_col}${t_first}:${w_col}${t_last})"


# -- buttons and macros ----------------------------------------------------------------------
def vba_subs(data: bytes) -> dict[str, set[str]]:
    """Module name -> public Subs without parameters (what a button can call)."""
    from oletools.olevba import VBA_Parser

    parser = VBA_Parser("template.xlsm", data=data)
    try:
        subs: dict[str, set[str]] = {}
        for _, _, vba_filename, code in parser.extract_macros():
            module = vba_filename.rsplit(".", 1)[0]
            found = re.findall(r"^[ \t]*(?:Public[ \t]+)?Sub[ \t]+(\w+)[ \t]*\(\s*\)",
                               code, re.MULTILINE | re.IGNORECASE)
            subs.setdefault(module, set()).update(found)
        return subs
    finally:
        parser.close()


def buttons(book: zipfile.ZipFile) -> dict[str, list[str]]:
    """Sheet name -> macros of its buttons (from the VML drawings)."""
    out: dict[str, list[str]] = {}
    for sheet, part in sheet_parts(book).items():
        rels_part = part.replace("worksheets/", "worksheets/_rels/") + ".rels"
        if rels_part not in book.namelist():
            continue
        rels = ET.fromstring(book.read(rels_part))
        for rel in rels.findall("rel:Relationship", NS):
            if rel.get("Target", "").endswith(".vml"):
                vml = book.read("xl/" + rel.get("Target").replace("../", "")).decode()
                out.setdefault(sheet, []).extend(
                    re.findall(r"<x:FmlaMacro>(.*?)</x:FmlaMacro>", vml))
    return out


def test_every_button_macro_exists_in_the_vba_project(template):
    subs = vba_subs(TEMPLATE.read_bytes())
    everywhere = [s for names in subs.values() for s in names]
    found = buttons(template)
    assert found, "no buttons"
    for sheet, macros in found.items():
        for macro in macros:
            target = macro.removeprefix("[0]!")
            module, _, sub = target.rpartition(".")
            if module:
                assert sub in subs.get(module, set()), f"{sheet}: {macro}"
            else:
                # An unqualified name must be unique in the project, or Excel asks which.
                assert everywhere.count(sub) == 1, f"{sheet}: {macro}"


def test_refresh_buttons_on_every_working_sheet(template):
    found = buttons(template)
    for sheet in ("How to", "Inputs", "Betas", "Stats", "Rolling", "Factors", "Analysis"):
        assert "[0]!SampleCall" in found.get(sheet, []), sheet
    assert "[0]!ImportPythonUDFs" in found["How to"]


def test_sample_call_imports_the_module_named_like_the_workbook():
    from oletools.olevba import VBA_Parser

    parser = VBA_Parser("template.xlsm", data=TEMPLATE.read_bytes())
    try:
        code = {name: text for _, _, name, text in parser.extract_macros()}
    finally:
        parser.close()
    sample = code["Module1.bas"]
    assert "ThisWorkbook.Name" in sample and 'RunPython "import " & mymodule' in sample
    assert ".main()" in sample
    # ... so the Python side is <workbook stem>.py next to the workbook, with main().
    shim = TEMPLATE.with_suffix(".py")
    assert shim.is_file()
    spec = importlib.util.spec_from_file_location(TEMPLATE.stem, shim)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert callable(module.main) and not inspect.signature(module.main).parameters


# -- xlwings.conf ------------------------------------------------------------------------------
def test_conf_sheet_points_xlwings_at_the_udf_module():
    from openpyxl import load_workbook

    wb = load_workbook(TEMPLATE, read_only=True)
    assert "xlwings.conf" in wb.sheetnames
    # xlwings ignores a sheet called _xlwings.conf (the quickstart's switched-off form).
    assert "_xlwings.conf" not in wb.sheetnames
    ws = wb["xlwings.conf"]
    # What xlwings' GetConfigFromSheet reads: A1 down to the first blank, keys upper-cased.
    config: dict[str, object] = {}
    for key, value in ws.iter_rows(min_col=1, max_col=2, values_only=True):
        if key is None or str(key).strip() == "":
            break
        assert str(key).upper() not in config, f"duplicate key {key}"
        config[str(key).upper()] = value
    wb.close()
    assert config["UDF MODULES"] == "xlfactor.udfs"
    # An empty value would override the add-in's setting with nothing.
    assert all(v is not None and v != "" for v in config.values()), config
    assert not {"INTERPRETER_WIN", "INTERPRETER_MAC", "CONDA PATH", "CONDA ENV"} & set(config)


# -- formula injection ------------------------------------------------------------------------
def test_committed_text_never_reads_as_a_formula(template):
    assert not [s for s in shared_strings(template) if s.startswith(FORMULA_START)]


def test_ticker_text_is_neutralised(generate, tmp_path):
    hostile = ['=HYPERLINK("http://example.invalid","x")', "+1+1", "-2", "@SUM(A1)", "AAPL"]
    path = generate.build(tmp_path / "hostile.xlsm", tickers=hostile)
    with zipfile.ZipFile(path) as book:
        strings = shared_strings(book)
        assert not [s for s in strings if s.startswith(FORMULA_START)]
        for text in hostile[:-1]:
            assert "'" + text in strings
        assert not [f for f in formulas(book) if "HYPERLINK" in f.text or "SUM(A1)" in f.text]
        # The only formulas on Inputs are the default weights and their total, which refer
        # to cells, never to the tickers' text.
        on_inputs = [f.text for f in formulas(book) if f.sheet == "Inputs" and f.element is not None]
        assert on_inputs and all(t.startswith(("IF(", "SUM(")) for t in on_inputs)


# -- the result tables against xlfactor.excel.tables ------------------------------------------
# The template formats FACTOR_STATS by row label and reserves rows for FACTOR_ATTRIBUTION and
# FACTOR_GRS; the labels, kinds and row counts are the specs of xlfactor.excel.tables. These
# tests compute the real tables on the offline sample and hold the functions, the specs and
# the committed template to each other: a label renamed on one side only fails here.
SAMPLE_SPAN = ("1990-01-01", "2010-12-31", "M")
SAMPLE_MODEL = "CARHART4"  # every factor the offline sample has


@pytest.fixture(scope="module")
def sample_tables(tmp_path_factory) -> dict[str, list[list[object]]]:
    """FACTOR_STATS, FACTOR_ATTRIBUTION and FACTOR_GRS as the cells return them."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XLFACTOR_SOURCE", "sample")
        mp.setenv("XLFACTOR_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        return {
            "stats": xlfactor.udfs.FACTOR_STATS("NoDur", SAMPLE_MODEL, *SAMPLE_SPAN),
            "attribution": xlfactor.udfs.FACTOR_ATTRIBUTION("NoDur", SAMPLE_MODEL, *SAMPLE_SPAN),
            "grs": xlfactor.udfs.FACTOR_GRS("NoDur,Hlth,S1V1", SAMPLE_MODEL, *SAMPLE_SPAN),
        }


@pytest.fixture(scope="module")
def kind_formats(generate) -> dict:
    """The generator's number format per value kind (importable once generate is loaded)."""
    return importlib.import_module("template_builder.formats").KIND_FORMATS


@pytest.fixture(scope="module")
def opened():
    from openpyxl import load_workbook

    return load_workbook(TEMPLATE, keep_vba=True)


def anchor(book, name: str) -> tuple[str, int, int]:
    """Sheet, 1-based row and column of a defined name's cell."""
    from openpyxl.utils.cell import column_index_from_string, coordinate_from_string

    sheet, ref = book.defined_names[name].attr_text.split("!")
    col, row = coordinate_from_string(ref.replace("$", ""))
    return sheet.strip("'"), row, column_index_from_string(col)


def label_rule_matches(formula: str, label: object) -> bool:
    """Evaluate a label rule of the template (``$A6="x"`` or ``LEFT($A6,n)="x"``) as Excel
    would for a row labelled ``label``: text compared without regard to case."""
    exact = re.fullmatch(r'\$A\d+="((?:[^"]|"")*)"', formula)
    start = re.fullmatch(r'LEFT\(\$A\d+,(\d+)\)="((?:[^"]|"")*)"', formula)
    text = str(label).casefold()
    if exact:
        return text == exact.group(1).replace('""', '"').casefold()
    if start:
        return text[:int(start.group(1))] == start.group(2).replace('""', '"').casefold()
    raise AssertionError(f"not a label rule: {formula}")


def is_blank(row: list[object]) -> bool:
    return all(v in ("", None) for v in row)


def value_fits(kind, value: object) -> bool:
    from xlfactor.excel.tables import ValueKind

    if kind is ValueKind.TEXT:
        return isinstance(value, str)
    if kind is ValueKind.COUNT:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, float)


def test_every_value_kind_has_a_number_format(kind_formats):
    from xlfactor.excel.tables import ValueKind

    assert set(kind_formats) == set(ValueKind)
    assert [k for k, code in kind_formats.items() if code is None] == [ValueKind.TEXT]


def test_stats_rows_are_the_specs_and_the_template_formats_each_by_its_kind(
        sample_tables, kind_formats, opened):
    from xlfactor.excel.tables import STATS_FIT_ROWS, find_row

    table = sample_tables["stats"]
    last_blank = max(i for i, row in enumerate(table) if is_blank(row))
    above, fit = table[:last_blank], table[last_blank + 1:]
    # The fit statistics, in order, are exactly the specs: none unspecified, none stale.
    unspecified = [row[0] for row in fit if find_row(STATS_FIT_ROWS, row[0]) is None]
    assert not unspecified, (
        f"FACTOR_STATS rows without a spec in xlfactor.excel.tables.STATS_FIT_ROWS: "
        f"{unspecified}; the template would leave them in the coefficients' format")
    assert [find_row(STATS_FIT_ROWS, row[0]) for row in fit] == list(STATS_FIT_ROWS), (
        "FACTOR_STATS's fit statistics and STATS_FIT_ROWS disagree: "
        f"{[row[0] for row in fit]} vs {[s.label for s in STATS_FIT_ROWS]}")
    for row in fit:
        spec = find_row(STATS_FIT_ROWS, row[0])
        assert value_fits(spec.kind, row[1]), f"{row[0]}: {row[1]!r} is no {spec.kind}"
    # No row above the statistics is claimed by one of their specs (and so misformatted).
    assert not [row[0] for row in above if find_row(STATS_FIT_ROWS, row[0]) is not None]

    # The committed template: the first number-format rule (Excel's priority) matching a
    # label gives the kind's format; rows above the statistics match none.
    sheet, top, _ = anchor(opened, "Out_Stats")
    ws = opened[sheet]
    rules = sorted(((rule, cf.sqref) for cf in ws.conditional_formatting for rule in cf.rules
                    if rule.dxf is not None and rule.dxf.numFmt is not None),
                   key=lambda pair: pair[0].priority)
    assert rules

    def template_format(label: object) -> str | None:
        for rule, _ in rules:
            if label_rule_matches(rule.formula[0], label):
                return rule.dxf.numFmt.formatCode
        return None

    for row in fit:
        spec = find_row(STATS_FIT_ROWS, row[0])
        assert template_format(row[0]) == kind_formats[spec.kind], row[0]
    assert not [row[0] for row in above if template_format(row[0]) is not None]
    # ... over every row the table spills into.
    for _, sqref in rules:
        (first, last), = [(b.min_row, b.max_row) for b in sqref.ranges]
        assert first == top and top + len(table) - 1 <= last, sqref


def test_attribution_rows_are_the_layout_and_fit_the_rows_the_template_reserves(
        sample_tables, opened):
    from xlfactor.domain.models import FACTORS, resolve_model
    from xlfactor.excel.tables import ATTRIBUTION

    header, *rows = sample_tables["attribution"]
    factors = list(resolve_model(SAMPLE_MODEL).factors)
    labels = [row[0] for row in rows]
    assert header == ATTRIBUTION.headers
    assert labels == ATTRIBUTION.labels(factors), (
        f"FACTOR_ATTRIBUTION's rows {labels} are not xlfactor.excel.tables.ATTRIBUTION's "
        f"{ATTRIBUTION.labels(factors)}")
    assert len(rows) == ATTRIBUTION.row_count(len(factors))
    totals = [label for label in labels if ATTRIBUTION.is_total(label)]
    assert totals and set(totals) <= set(ATTRIBUTION.trailing)

    # The template reserves the rows of the largest model below the header, and sets off
    # exactly the total rows.
    sheet, top, _ = anchor(opened, "Out_Attribution")
    ws = opened[sheet]
    spans = {}
    for cf in ws.conditional_formatting:
        for rule in cf.rules:
            (block,) = cf.sqref.ranges
            spans[rule.formula[0]] = (block.min_row, block.max_row)
    isna = [span for formula, span in spans.items() if "ISNA" in formula]
    assert isna == [(top + 1, top + ATTRIBUTION.row_count(len(FACTORS)))]
    assert ATTRIBUTION.most_rows == ATTRIBUTION.row_count(len(FACTORS))
    (total_rule,) = [f for f in spans if f.startswith("LEFT(")]
    assert [label for label in labels if label_rule_matches(total_rule, label)] == totals


def test_grs_rows_are_the_specs_and_the_template_formats_them_in_order(
        sample_tables, kind_formats, opened):
    from xlfactor.excel.tables import GRS_ROWS

    table = sample_tables["grs"]
    assert [row[0] for row in table[:len(GRS_ROWS)]] == [s.label for s in GRS_ROWS], (
        "FACTOR_GRS's first rows and xlfactor.excel.tables.GRS_ROWS disagree")
    for row, spec in zip(table, GRS_ROWS):
        assert value_fits(spec.kind, row[1]), f"{row[0]}: {row[1]!r} is no {spec.kind}"
    sheet, top, col = anchor(opened, "Out_GRS")
    ws = opened[sheet]
    formats = [ws.cell(top + i, col + 1).number_format for i in range(len(GRS_ROWS))]
    assert formats == [kind_formats[s.kind] or "General" for s in GRS_ROWS]
    assert ws.cell(top + len(GRS_ROWS), col + 1).number_format == "General"  # text follows
