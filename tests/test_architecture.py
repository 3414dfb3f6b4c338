"""The package's layers, as docs/architecture.md draws them, checked on every import.

domain (requests, models, tickers, dates, errors) is imported by everything and imports
nothing of ours; data (sources, files, cache) and engine (pure numpy statistics) build
on domain only and never on each other; the API layer (api, pipeline, arrays,
analysis, own_returns, status) joins them; the shells (the Excel layer, the CLI, charts) sit on top. Every
``import`` statement counts, including the lazy ones inside functions.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "xlfactor"

#: Layer of each module, by dotted-name prefix (longest prefix wins), and its rank.
LAYERS = {
    "xlfactor.domain": ("domain", 0),
    "xlfactor.data": ("data", 1),
    "xlfactor.engine": ("engine", 1),
    "xlfactor": ("api", 2),
    "xlfactor.api": ("api", 2),
    "xlfactor.pipeline": ("api", 2),
    "xlfactor.arrays": ("api", 2),
    "xlfactor.analysis": ("api", 2),
    "xlfactor.own_returns": ("api", 2),
    "xlfactor.status": ("api", 2),
    "xlfactor.excel": ("shell", 3),
    "xlfactor.udfs": ("shell", 3),
    "xlfactor.cli": ("shell", 3),
    "xlfactor.charts": ("shell", 3),
}


def layer_of(module: str) -> tuple[str, int]:
    for prefix in sorted(LAYERS, key=len, reverse=True):
        if module == prefix or module.startswith(prefix + "."):
            if prefix == "xlfactor" and module != "xlfactor":
                break  # a top-level module not listed above: unplaced
            return LAYERS[prefix]
    raise LookupError(f"{module} is in no layer: place it in tests/test_architecture.py "
                      "and docs/architecture.md")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> list[tuple[int, str]]:
    """(line, imported module) for every import of our own package in ``path``."""
    own = module_name(path)
    package = own if path.name == "__init__.py" else own.rsplit(".", 1)[0]
    return imports_in(path.read_text(encoding="utf-8"), package)


def imports_in(source: str, package: str) -> list[tuple[int, str]]:
    """(line, imported module) for every import of our own package in ``source``, a
    module of ``package``; ``from xlfactor import __version__`` is left out (the version
    string, not the API facade)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            if target == "xlfactor" or target.startswith("xlfactor."):
                if target in ("xlfactor",) + tuple(p for p in LAYERS if "." not in p):
                    # "from xlfactor import api": the names are modules or the facade
                    found += [(node.lineno, _submodule(target, a.name)) for a in node.names
                              if (target, a.name) != ("xlfactor", "__version__")]
                else:
                    found.append((node.lineno, target))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names
                      if a.name == "xlfactor" or a.name.startswith("xlfactor.")]
    return found


def violations(own: str, imports: list[tuple[int, str]]) -> list[str]:
    """The imports of module ``own`` that point up the layers, or across data/engine."""
    own_layer, own_rank = layer_of(own)
    wrong = []
    for line, target in imports:
        layer, rank = layer_of(target)
        if layer != own_layer and rank >= own_rank:
            wrong.append(f"line {line}: {own} ({own_layer}) imports {target} ({layer})")
    return wrong


def _submodule(package: str, name: str) -> str:
    candidate = f"{package}.{name}"
    dotted = PACKAGE.parent.joinpath(*candidate.split("."))
    return candidate if dotted.with_suffix(".py").exists() or dotted.is_dir() else package


MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: module_name(p))
def test_every_module_has_a_layer(path):
    layer_of(module_name(path))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: module_name(p))
def test_imports_point_down_the_layers(path):
    wrong = violations(module_name(path), imports_of(path))
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize(("own", "source"), [
    ("xlfactor.engine.ols", "from ..data import store"),
    ("xlfactor.engine.ols", "from xlfactor.data.store import Store"),
    ("xlfactor.engine.ols", "def f():\n    from xlfactor import api"),
    ("xlfactor.engine.ols", "import xlfactor.excel.cells"),
    ("xlfactor.data.yahoo", "from xlfactor.engine import align"),
    ("xlfactor.domain.request", "from xlfactor.engine.ols import ols"),
    ("xlfactor.data.store.cache", "from ... import udfs"),
    ("xlfactor.pipeline", "from xlfactor.excel import cells"),
])
def test_the_rule_reports_imports_that_point_up(own, source):
    package = own.rsplit(".", 1)[0]
    assert len(violations(own, imports_in(source, package))) == 1


@pytest.mark.parametrize(("own", "source"), [
    ("xlfactor.engine.ols", "from xlfactor.domain.errors import InvalidInputError"),
    ("xlfactor.engine.model", "from .ols import ols"),
    ("xlfactor.excel.cells", "from xlfactor import api, pipeline"),
    ("xlfactor.status", "from xlfactor import __version__"),
    ("xlfactor.data.yahoo", "from xlfactor.data.memo import Memo"),
])
def test_the_rule_allows_imports_that_point_down(own, source):
    package = own.rsplit(".", 1)[0]
    imports = imports_in(source, package)
    assert not violations(own, imports)
    assert imports or source.endswith("__version__")  # the import was seen at all


def test_every_module_name_is_placed():
    assert layer_of("xlfactor.engine.align") == ("engine", 1)
    assert layer_of("xlfactor.data.store") == ("data", 1)
    with pytest.raises(LookupError):
        layer_of("xlfactor.newthing")


def test_excel_loads_only_declarations():
    """``import xlfactor.udfs`` (what Excel runs on start) loads no data or engine code and
    none of the heavy libraries (xlwings itself brings numpy, pandas and matplotlib)."""
    import subprocess
    import sys

    code = ("import sys, xlfactor.udfs; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('xlfactor', "
            "'yfinance', 'statsmodels', 'scipy', 'openpyxl', 'curl_cffi')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    loaded = ast.literal_eval(out)
    # the declarations: the specs of excel/registry.py and the xlwings functions made of them
    assert loaded == ["xlfactor", "xlfactor.excel", "xlfactor.excel.registry",
                      "xlfactor.excel.udfs", "xlfactor.udfs"]


def test_runtime_dependencies_are_exactly_what_the_package_uses():
    """Each package in ``dependencies`` is imported by xlfactor at run time (or, for
    linearmodels, located for the data file it ships), and everything xlfactor imports
    outside the standard library is declared there: test tools are extras."""
    import re
    import sys

    import tomllib

    project = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text())["project"]
    names = {re.split(r"[<>=!~ \[]", spec, maxsplit=1)[0].lower()
             for spec in project["dependencies"]}
    module_of = {"pillow": "PIL"}
    used = set()
    for path in MODULES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                used |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                used.add(node.module.split(".")[0])
            elif (isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "find_spec"
                  and node.args and isinstance(node.args[0], ast.Constant)):
                used.add(str(node.args[0].value).split(".")[0])
    declared = {module_of.get(n, n.replace("-", "_")) for n in names}
    unused = sorted(declared - used)
    assert not unused, f"runtime dependencies the package never uses: {unused}"
    undeclared = sorted(m for m in used - declared
                        if m not in sys.stdlib_module_names and m != "xlfactor")
    assert not undeclared, f"imported by the package but not declared: {undeclared}"
    assert "pytest" not in names and "hypothesis" not in names
