"""The install path that docs/install.md gives: a wheel built by ``python -m build``."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    # Built from a copy of the tracked tree: a build in the checkout would leave build/.
    src = tmp_path_factory.mktemp("src")
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                           check=True).stdout.split()
    for name in files:
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, src / name)
    out = tmp_path_factory.mktemp("dist")
    run = subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir", str(out)],
                         cwd=src, capture_output=True, text=True, timeout=600, check=False)
    assert run.returncode == 0, run.stderr[-3000:]
    built = list(out.glob("xlfactor-*-py3-none-any.whl"))
    assert len(built) == 1, list(out.iterdir())
    return built[0]


def test_the_wheel_holds_the_package_and_not_the_tests(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    for module in ("xlfactor/udfs.py", "xlfactor/excel/udfs.py", "xlfactor/excel/cells.py",
                   "xlfactor/excel/values.py", "xlfactor/domain/dates.py",
                   "xlfactor/data/reachability.py", "xlfactor/engine/ols.py"):
        assert module in names
    assert not any(n.startswith(("tests/", "bench/", "workbook/")) for n in names)
    assert not any("registration" in n for n in names)  # test tooling, not the runtime
    metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
    text = zipfile.ZipFile(wheel).read(metadata).decode()
    assert "Requires-Dist: xlwings==0.37.8" in text
    assert "Provides-Extra: workbook" in text


def test_the_wheel_installs_and_imports(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--target", str(target), str(wheel)], check=True, timeout=300)
    probe = ("import xlfactor.udfs, xlfactor.excel.values, sys; "
             "print(xlfactor.udfs.__file__); print(xlfactor.__version__)")
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"},
                         cwd=tmp_path, check=True, timeout=120)
    path, version = run.stdout.split()
    assert path.startswith(str(target)) and version == "0.1.0"


def test_the_wheel_states_the_python_it_installs_on(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
    text = zipfile.ZipFile(wheel).read(metadata).decode()
    assert "Requires-Python: >=3.11" in text
    assert "License-Expression: BSD-3-Clause" in text
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)


def _floor(spec: str) -> tuple[int, ...] | None:
    """The lowest Python a ``Requires-Python`` specifier admits (its ``>=`` bound)."""
    from packaging.specifiers import SpecifierSet

    bounds = [s.version for s in SpecifierSet(spec) if s.operator in (">=", "~=", "==")]
    return max((tuple(int(p) for p in b.split(".")[:2]) for b in bounds), default=None)


def test_the_stated_python_floor_admits_no_python_a_dependency_refuses():
    """Our ``requires-python`` is at least every installed dependency's own floor, so pip
    refuses xlfactor itself on an older Python instead of failing on a dependency."""
    import tomllib
    from importlib import metadata

    from packaging.requirements import Requirement

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    ours = _floor(project["requires-python"])
    higher = {}
    for line in project["dependencies"]:
        name = Requirement(line).name
        theirs = metadata.metadata(name).get("Requires-Python")
        if theirs and _floor(theirs) and _floor(theirs) > ours:
            higher[name] = theirs
    assert not higher, f"requires-python {project['requires-python']} is below {higher}"


def _python310() -> str | None:
    # pyenv's interpreter itself: its shim on PATH fails unless 3.10 is the selected version
    candidates = sorted(Path.home().glob(".pyenv/versions/3.10*/bin/python3.10"))
    if candidates:
        return str(candidates[-1])
    return shutil.which("python3.10", path="/usr/bin:/usr/local/bin")


def test_pip_on_python_3_10_refuses_the_wheel_plainly(wheel, tmp_path):
    python = _python310()
    if python is None:
        from tools import basic_compile

        basic_compile.skip_or_fail("no Python 3.10 on this machine to try the stated floor "
                                   "against")
    run = subprocess.run([python, "-m", "pip", "install", "--no-deps", "--no-index",
                          "--target", str(tmp_path / "site"), str(wheel)],
                         capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode != 0
    assert "requires a different Python" in run.stderr + run.stdout


def test_the_command_says_its_version():
    run = subprocess.run([sys.executable, "-m", "xlfactor.cli", "--version"],
                         capture_output=True, text=True, timeout=120, check=False)
    from xlfactor import __version__

    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith(f"xlfactor {__version__} (Python ")
