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
