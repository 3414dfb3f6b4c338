"""Every repository path the README and docs/ name exists.

A reader who follows ``xlfactor/config.py`` from a doc into the tree must find it. Paths are
the backticked names and the relative Markdown links; names of a user's own files
(``AAPL.csv``, ``BOOK-values.xlsx``, ``betas_2024.py``) are not repository paths and are
recognised by not naming a folder of the repository or a module of the package.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
TOP = ("xlfactor/", "tests/", "workbook/", "bench/", "docs/", ".ci/")
#: folders a doc may name relative to the package or to workbook/
INNER = ("data/", "domain/", "engine/", "excel/", "store/", "template_builder/", "tools/")
#: named in the docs as files a user makes, never files of this repository
USER_FILES = {"betas_2024.py"}

TICKED = re.compile(r"`([^`\s]+)`")
LINK = re.compile(r"\]\(([^)\s#]+)(?:#[^)]*)?\)")


def tracked() -> list[str]:
    out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout.split()
    return [name for name in out if (ROOT / name).exists()]


def repository_paths(text: str) -> list[str]:
    """The backticked tokens of ``text`` that name a file or folder of this repository."""
    found = []
    for token in TICKED.findall(text):
        token = token.rstrip(".,:;")
        if token.startswith(TOP) or token.startswith(INNER):
            found.append(token)
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*\.py", token) and token not in USER_FILES:
            found.append(token)
    return found


def resolves(token: str, names: list[str]) -> bool:
    if "/" not in token:  # a bare module name: some tracked file has it
        return any(Path(name).name == token for name in names)
    token = token.rstrip("/")
    return any(name == token or name.startswith(token + "/") or name.endswith("/" + token)
               or f"/{token}/" in f"/{name}" for name in names)


def test_the_path_finder_sees_what_a_reader_sees():
    text = ("see `xlfactor/config.py`, `engine/grs.py`, `cells.py`, `AAPL.csv`, "
            "`BOOK-values.xlsx`, `=SUM(A1)` and `tests/`")
    assert repository_paths(text) == ["xlfactor/config.py", "engine/grs.py", "cells.py",
                                      "tests/"]
    names = ["xlfactor/engine/grs.py", "xlfactor/excel/cells.py", "tests/test_core.py"]
    assert resolves("engine/grs.py", names) and resolves("cells.py", names)
    assert resolves("tests/", names) and not resolves("xlfactor/config.py", names)
    assert not resolves("engine/gr.py", names)


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_path_a_doc_names_exists(doc):
    names = tracked()
    text = doc.read_text(encoding="utf-8")
    missing = [t for t in repository_paths(text) if not resolves(t, names)]
    assert not missing, f"{doc.relative_to(ROOT)} names paths that do not exist: {missing}"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_relative_link_a_doc_makes_resolves(doc):
    text = doc.read_text(encoding="utf-8")
    broken = [link for link in LINK.findall(text)
              if "://" not in link and not (doc.parent / link).exists()]
    assert not broken, f"{doc.relative_to(ROOT)} links to missing files: {broken}"


def test_ci_runs_the_test_command_the_readme_gives_in_a_new_environment():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    after = readme.split("Run the whole test suite", 1)[1]
    command = re.search(r"```\n(.+?)\n```", after, re.S).group(1).strip()
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert command in [line.strip() for line in script], command
    venv = next(i for i, line in enumerate(script) if "-m venv" in line)
    activate = next(i for i, line in enumerate(script) if "/bin/activate" in line)
    assert venv < activate < script.index(command)
