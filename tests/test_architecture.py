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


#: Longest a module may grow, in physical lines: past it, split along a seam.
MAX_LINES = 450


def _type_checking_lines(tree: ast.AST) -> set[int]:
    """Line numbers of the import statements under ``if TYPE_CHECKING:`` (annotation-only
    imports never run, so they make no cycle)."""
    exempt = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and (
                getattr(node.test, "id", None) == "TYPE_CHECKING"
                or getattr(node.test, "attr", None) == "TYPE_CHECKING"):
            for inner in node.body:
                for sub in ast.walk(inner):
                    if isinstance(sub, (ast.Import, ast.ImportFrom)):
                        exempt.add(sub.lineno)
    return exempt


def _resolved(target: str, names: list[str]) -> list[str]:
    """``target`` itself, or the submodules of it that ``from target import names`` loads."""
    subs = [s for s in (_submodule(target, n) for n in names) if s != target]
    return subs if subs and len(subs) == len(names) else [target, *subs]


def import_graph() -> dict[str, set[str]]:
    """Module -> the xlfactor modules it imports (every import statement, lazy ones too,
    except those under ``if TYPE_CHECKING:``); a name imported from a package that is a
    submodule counts as importing that submodule."""
    graph: dict[str, set[str]] = {}
    for path in MODULES:
        own = module_name(path)
        package = own if path.name == "__init__.py" else own.rsplit(".", 1)[0]
        tree = ast.parse(path.read_text(encoding="utf-8"))
        exempt = _type_checking_lines(tree)
        edges: set[str] = set()
        for node in ast.walk(tree):
            if getattr(node, "lineno", None) in exempt:
                continue
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    parts = package.split(".")
                    base = parts[: len(parts) - node.level + 1]
                    target = ".".join([*base, node.module] if node.module else base)
                else:
                    target = node.module or ""
                if target == "xlfactor" or target.startswith("xlfactor."):
                    names = [a.name for a in node.names
                             if (target, a.name) != ("xlfactor", "__version__")]
                    if names:
                        edges.update(_resolved(target, names))
            elif isinstance(node, ast.Import):
                edges.update(a.name for a in node.names
                             if a.name == "xlfactor" or a.name.startswith("xlfactor."))
        graph[own] = {e for e in edges if e != own}
    return graph


def cycles_in(graph: dict[str, set[str]]) -> list[list[str]]:
    """One chain per strongly connected group of modules that import one another
    (Tarjan's algorithm), each chain a shortest loop through the group's first member."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in graph:
                continue
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(group)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_loop(graph, group) for group in groups]


def _loop(graph: dict[str, set[str]], group: set[str]) -> list[str]:
    """A shortest import chain from the group's first member back to itself."""
    start = min(group)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for nxt in sorted(graph[node] & group):
                if nxt == start:
                    return paths[node] + [start]
                if nxt not in paths:
                    paths[nxt] = paths[node] + [nxt]
                    following.append(nxt)
        frontier = following
    return sorted(group)


def test_cycles_in_finds_a_loop_and_nothing_else():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert cycles_in(graph) == [["a", "b", "c", "a"]]
    assert cycles_in({"a": {"b"}, "b": set()}) == []


#: Known debts, to be paid and never added to: the one cycle left (arrays uses own_returns'
#: frequency rule, own_returns arrays' number reader; both belong in domain/) and the
#: modules still over MAX_LINES with their length now, which may only shrink.
KNOWN_CYCLES = [["xlfactor.arrays", "xlfactor.own_returns", "xlfactor.arrays"]]
KNOWN_LONG = {
    "xlfactor.cli": 479, "xlfactor.data.store.cache": 479, "xlfactor.data.french_csv": 503,
    "xlfactor.own_returns": 503, "xlfactor.data.http": 516,
    "xlfactor.data.yahoo_download": 520, "xlfactor.engine.align": 571,
    "xlfactor.data.store.sqlite": 575, "xlfactor.data.french": 562,
    "xlfactor.data.price_files": 665,
}


def test_no_import_cycles():
    """No module imports, however lazily, one that imports it back: a cycle means two
    modules are one concept split wrongly (or one reaches up its own layer)."""
    chains = [c for c in cycles_in(import_graph()) if c not in KNOWN_CYCLES]
    assert not chains, "import cycles (a shortest loop through each group):\n" + "\n".join(
        " -> ".join(c) for c in chains)


def test_no_module_is_too_long():
    """Every module stays under MAX_LINES physical lines: a longer one holds more than
    one concept."""
    long = sorted((len(p.read_text(encoding="utf-8").splitlines()), module_name(p))
                  for p in MODULES)
    over = [f"{name}: {n} lines" for n, name in long
            if n > KNOWN_LONG.get(name, MAX_LINES)]
    assert not over, f"modules over {MAX_LINES} lines:\n" + "\n".join(over)
