"""Prove that VBA modules compile, with a real compiler: LibreOffice Basic in VBA-support mode.

Excel is not available off Windows, but LibreOffice Basic parses VBA source when a module
starts with ``Option VBASupport 1``. Its UNO bridge (``import uno``) exists only for the
system Python that the distribution's ``python3-uno`` package was built for, not for the
interpreter running pytest. So this file has two halves:

* a library half, importable anywhere without ``uno``: :func:`available`,
  :func:`compile_modules`, :func:`skip_or_fail`;
* a worker half, run as ``<system python> basic_compile.py``: it reads the modules as JSON
  on stdin, starts one private headless ``soffice``, compiles every module and writes JSON
  results on stdout.

How a module is judged: its source becomes ``Option VBASupport 1``, the given code
unchanged, and a sentinel function returning 4242, in a library of its own inside a new
hidden Calc document. The sentinel is then called through the document's script provider.
LibreOffice compiles a module as a whole before running any of it and reports compile
errors to no UNO caller (the call quietly returns nothing), so the module compiled if and
only if the sentinel returns 4242. To make a failure actionable, each procedure of a
failing module is then compiled on its own, and its declaration line alone, and the
message names those that fail.

POSIX only (process groups are used to make sure no ``soffice`` outlives a run).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any

#: What the sentinel returns when its module compiled.
SENTINEL_VALUE = 4242
SENTINEL_NAME = "XLF_SENTINEL"
SENTINEL_CODE = (
    f"Function {SENTINEL_NAME}()\n    {SENTINEL_NAME} = {SENTINEL_VALUE}\nEnd Function\n"
)
VBA_HEADER = "Option VBASupport 1\n"

#: Interpreters tried for ``import uno``; ``XLF_UNO_PYTHON`` overrides them.
UNO_PYTHONS = ("/usr/bin/python3", "/usr/local/bin/python3", "/usr/bin/python")
#: Extra time the library grants the worker beyond the worker's own deadline.
WORKER_GRACE_S = 30.0
#: File in the work directory holding soffice's process group id.
PGID_FILE = "soffice.pgid"


@dataclasses.dataclass(frozen=True)
class CompileResult:
    """Whether one module compiled; ``message`` says why not (empty when it did)."""

    compiled: bool
    message: str


class CompileReport(dict[str, CompileResult]):
    """Results by module name, plus the wall-clock timings of the run in seconds."""

    def __init__(self, results: dict[str, CompileResult], timing: dict[str, float]) -> None:
        super().__init__(results)
        self.timing = timing


class HarnessError(RuntimeError):
    """The harness itself could not judge the modules (no LibreOffice, crash, timeout)."""


# --------------------------------------------------------------------------------------
# Library half: runs under any Python, never imports uno.
# --------------------------------------------------------------------------------------


def _clean_env() -> dict[str, str]:
    """The environment for the system Python: without this interpreter's Python settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env.pop("VIRTUAL_ENV", None)
    return env


@functools.lru_cache(maxsize=1)
def _find_uno_python() -> tuple[str | None, str]:
    """The first interpreter that can ``import uno``, or None and what was tried."""
    override = os.environ.get("XLF_UNO_PYTHON")
    candidates = [override] if override else list(UNO_PYTHONS)
    tried = []
    for exe in candidates:
        if not exe or not os.path.isfile(exe):
            tried.append(f"{exe}: not found")
            continue
        try:
            proc = subprocess.run(
                [exe, "-I", "-c", "import uno"],
                check=False, capture_output=True, text=True, timeout=60, env=_clean_env(),
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            tried.append(f"{exe}: {exc}")
            continue
        if proc.returncode == 0:
            return exe, ""
        last = (proc.stderr.strip().splitlines() or ["import uno failed"])[-1]
        tried.append(f"{exe}: {last}")
    return None, "; ".join(tried)


def _find_soffice() -> str | None:
    """The LibreOffice launcher; ``XLF_SOFFICE`` overrides the search on PATH."""
    override = os.environ.get("XLF_SOFFICE")
    if override:
        return override if os.path.isfile(override) else None
    return shutil.which("soffice") or shutil.which("libreoffice")


def available() -> tuple[bool, str]:
    """Whether LibreOffice and a Python with ``uno`` are usable here, and if not, why."""
    if os.name != "posix":
        return False, "the LibreOffice Basic harness runs on POSIX only"
    soffice = _find_soffice()
    if soffice is None:
        return False, "LibreOffice not found (no soffice or libreoffice on PATH)"
    python, why = _find_uno_python()
    if python is None:
        return False, f"no Python with the LibreOffice UNO bridge ({why})"
    return True, f"{python} with {soffice}"


def skip_or_fail(reason: str) -> None:
    """Skip the calling test, except under CI (``CI=true``) where a missing tool fails."""
    import pytest

    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{reason} (required under CI)")
    pytest.skip(reason)


_DIRECTIVE = re.compile(r"^[ \t]*#", re.MULTILINE)
_SENTINEL_WORD = re.compile(rf"\b{SENTINEL_NAME}\b", re.IGNORECASE)


def _check_module(name: str, code: str) -> None:
    """Refuse what LibreOffice would judge wrongly instead of failing loudly."""
    if not isinstance(code, str):
        raise TypeError(f"module {name!r}: code must be str, not {type(code).__name__}")
    if _DIRECTIVE.search(code):
        # LibreOffice Basic skips every line starting with '#': an unresolved #If would
        # compile both branches, and a malformed directive would pass unseen.
        raise ValueError(f"module {name!r}: resolve conditional compilation (#...) first")
    if _SENTINEL_WORD.search(code):
        raise ValueError(f"module {name!r}: {SENTINEL_NAME} is reserved by the harness")


def compile_modules(modules: dict[str, str], timeout: float = 120) -> CompileReport:
    """Compile each VBA module on its own with LibreOffice Basic; one ``soffice`` for all.

    ``modules`` maps a free-form name to the module's code, with conditional compilation
    already resolved (LibreOffice Basic skips ``#`` lines, so it cannot judge them).
    Raises :class:`HarnessError` when the harness cannot judge, so that a broken tool is
    never taken for broken code.
    """
    for name, code in modules.items():
        _check_module(name, code)
    ok, why = available()
    if not ok:
        raise HarnessError(why)
    python, _ = _find_uno_python()
    workdir = tempfile.mkdtemp(prefix="xlf-basic-")
    request = {
        "modules": modules, "timeout": timeout, "soffice": _find_soffice(), "workdir": workdir,
    }
    try:
        proc = subprocess.Popen(
            [python, "-I", os.path.abspath(__file__)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=_clean_env(), start_new_session=True,
        )
        try:
            out, err = proc.communicate(
                json.dumps(request).encode(), timeout=timeout + WORKER_GRACE_S
            )
        except BaseException as exc:  # timeout past the worker's own deadline, Ctrl-C
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            _kill_recorded_office(workdir)
            if isinstance(exc, subprocess.TimeoutExpired):
                raise HarnessError(
                    f"LibreOffice Basic worker did not finish within {timeout} s"
                ) from None
            raise
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    stderr = err.decode(errors="replace").strip()
    try:
        answer = json.loads(out)
    except ValueError:
        raise HarnessError(
            f"worker exited {proc.returncode} without a result; stderr:\n{stderr[-3000:]}"
        ) from None
    if answer.get("error"):
        raise HarnessError(f"{answer['error']}\n{stderr[-3000:]}".rstrip())
    results = {name: CompileResult(**r) for name, r in answer["results"].items()}
    return CompileReport(results, answer["timing"])


def _kill_recorded_office(workdir: str) -> None:
    """Kill the soffice process group the worker recorded, should it still be alive."""
    try:
        with open(os.path.join(workdir, PGID_FILE)) as f:
            pgid = int(f.read())
    except (OSError, ValueError):
        return
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


# --------------------------------------------------------------------------------------
# Procedure splitting, used by the worker to say which procedure of a module fails.
# --------------------------------------------------------------------------------------

_PROC_START = re.compile(
    r"^\s*(?:(?:Public|Private|Friend)\s+)?(?:Static\s+)?"
    r"(Function|Sub|Property\s+(?:Get|Let|Set))\s+(\w+)",
    re.IGNORECASE,
)
_PROC_END = re.compile(r"^\s*End\s+(Function|Sub|Property)\b", re.IGNORECASE)


@dataclasses.dataclass(frozen=True)
class _Procedure:
    """Where one Function, Sub or Property sits in a module's lines."""

    name: str
    kind: str  # Function, Sub or Property
    first: int  # 0-based index of the declaration line
    last: int  # 0-based index of the End line
    declaration_end: int  # 0-based index of the declaration's last (continued) line


def _split_procedures(lines: list[str]) -> tuple[list[str], list[_Procedure]]:
    """The lines before the first procedure, and the procedures found by line."""
    procs: list[_Procedure] = []
    header: list[str] | None = None
    i = 0
    while i < len(lines):
        start = _PROC_START.match(lines[i])
        if not start:
            i += 1
            continue
        if header is None:
            header = lines[:i]
        kind = start.group(1).split()[0].capitalize()
        decl_end = i
        while decl_end + 1 < len(lines) and lines[decl_end].rstrip().endswith(" _"):
            decl_end += 1
        end = decl_end + 1
        while end < len(lines):
            found = _PROC_END.match(lines[end])
            if found and found.group(1).capitalize() == kind:
                break
            end += 1
        if end >= len(lines):
            break  # unterminated: nothing useful to isolate from here on
        procs.append(_Procedure(start.group(2), kind, i, end, decl_end))
        i = end + 1
    return (header if header is not None else lines), procs


@dataclasses.dataclass(frozen=True)
class _Isolated:
    """One procedure of a module as a module of its own, and its declaration alone."""

    label: str
    source: str
    declaration_label: str
    declaration_source: str


def _isolate_procedures(code: str) -> list[_Isolated]:
    """Each procedure with the module's declarations section, as separate sources."""
    lines = code.splitlines()
    header, procs = _split_procedures(lines)
    isolated = []
    for p in procs:
        declaration = lines[p.first : p.declaration_end + 1]
        isolated.append(_Isolated(
            label=f"{p.name} (lines {p.first + 1}-{p.last + 1})",
            source="\n".join(header + lines[p.first : p.last + 1]),
            declaration_label=f"its declaration alone fails, line {p.first + 1}: "
            f"{lines[p.first].strip()}",
            declaration_source="\n".join(header + declaration + [f"End {p.kind}"]),
        ))
    return isolated


def module_source(code: str) -> str:
    """The full text given to LibreOffice: VBA mode, the code unchanged, the sentinel."""
    return VBA_HEADER + code + ("" if code.endswith("\n") else "\n") + SENTINEL_CODE


# --------------------------------------------------------------------------------------
# Worker half: runs under the system Python, inside which ``import uno`` works.
# --------------------------------------------------------------------------------------

_CANARY = "Function XLF_CANARY(a, Optional b)\n    XLF_CANARY = a\nEnd Function"
_CONNECT_LIMIT_S = 60.0


class _Office:
    """One private headless soffice, reached over a named pipe, killed no matter what."""

    def __init__(self, soffice: str, workdir: str) -> None:
        import uno

        self.uno = uno
        # A named pipe rather than a TCP port: no port to pick, no clash between runs.
        pipe = f"xlf_basic_{os.getpid()}_{os.urandom(4).hex()}"
        # A fresh profile: no recovery, no lock or settings left by another soffice.
        profile = pathlib.Path(workdir, "profile").as_uri()
        # soffice removes the socket files of its pipes on a clean exit only. Besides the
        # --accept pipe there is its single-instance pipe, named by a hash of the profile.
        digest = hashlib.md5(profile.encode("utf-16-le"), usedforsecurity=False).digest()
        single = "SingleOfficeIPC_" + "".join(format(b, "x") for b in digest)
        self.pipe_files = [f"/tmp/OSL_PIPE_{os.getuid()}_{name}" for name in (pipe, single)]
        self.log_path = os.path.join(workdir, "soffice.log")
        args = [
            soffice, f"-env:UserInstallation={profile}",
            "--headless", "--invisible", "--nologo", "--norestore", "--nodefault",
            "--nolockcheck",
            f"--accept=pipe,name={pipe};urp;StarOffice.ComponentContext",
        ]
        # Its temporary files go to the work directory, removed with it even after a kill.
        env = dict(os.environ, TMPDIR=workdir)
        with open(self.log_path, "wb") as log:
            # Own process group: the soffice script, oosplash and soffice.bin die together.
            self.proc = subprocess.Popen(
                args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                env=env, start_new_session=True,
            )
        with open(os.path.join(workdir, PGID_FILE), "w") as f:
            f.write(str(self.proc.pid))
        self.url = f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext"
        self.desktop: Any = None

    def connect(self) -> None:
        """Retry until soffice listens (a second or so), within a bounded time."""
        local = self.uno.getComponentContext()
        resolver = local.ServiceManager.createInstanceWithContext(
            "com.sun.star.bridge.UnoUrlResolver", local
        )
        deadline = time.monotonic() + _CONNECT_LIMIT_S
        while True:
            try:
                ctx = resolver.resolve(self.url)
                break
            except Exception as exc:  # NoConnectException until soffice listens
                if self.dead():
                    raise HarnessError(
                        f"soffice exited with {self.proc.returncode} before accepting "
                        f"connections: {self.log_tail()}"
                    ) from None
                if time.monotonic() > deadline:
                    raise HarnessError(
                        f"no UNO connection to soffice after {_CONNECT_LIMIT_S:.0f} s: "
                        f"{_exception_text(exc)}"
                    ) from None
                time.sleep(0.1)
        smgr = ctx.ServiceManager
        self.desktop = smgr.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)

    def dead(self) -> bool:
        return self.proc.poll() is not None

    def log_tail(self) -> str:
        try:
            with open(self.log_path, "rb") as f:
                return f.read()[-2000:].decode(errors="replace").strip()
        except OSError:
            return ""

    def new_calc_document(self) -> Any:
        hidden = self.uno.createUnoStruct("com.sun.star.beans.PropertyValue")
        hidden.Name, hidden.Value = "Hidden", True
        return self.desktop.loadComponentFromURL("private:factory/scalc", "_blank", 0, (hidden,))

    def kill(self) -> None:
        """SIGKILL the whole process group (also from the watchdog thread)."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def shutdown(self) -> None:
        """Ask soffice to quit, then make sure its whole process group is gone."""
        if self.desktop is not None and not self.dead():
            try:
                self.desktop.terminate()
            except Exception:
                pass  # the bridge may go away before terminate() returns
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pass
        self.kill()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pass
        for path in self.pipe_files:
            try:
                os.unlink(path)
            except OSError:
                pass


def _exception_text(exc: BaseException) -> str:
    message = getattr(exc, "Message", None) or str(exc)
    return f"{type(exc).__name__}: {message}".strip()


class _Compiler:
    """Compiles sources in fresh libraries of one document and calls their sentinel."""

    def __init__(self, office: _Office, document: Any) -> None:
        self.office = office
        self.libraries = document.BasicLibraries
        self.provider = document.getScriptProvider()
        self.count = 0

    def try_compile(self, code: str) -> tuple[bool, str]:
        """(compiled, message) for one module; HarnessError when soffice is gone."""
        self.count += 1
        # A library per source: procedure names never collide between sources.
        library = f"XLF{self.count:04d}"
        url = (
            f"vnd.sun.star.script:{library}.Module1.{SENTINEL_NAME}"
            "?language=Basic&location=document"
        )
        script = None
        try:
            self.libraries.createLibrary(library).insertByName("Module1", module_source(code))
            script = self.provider.getScript(url)
            value = script.invoke((), (), ())[0]
        except Exception as exc:
            if self.office.dead():
                raise HarnessError(f"soffice is gone: {self.office.log_tail()}") from None
            return False, _exception_text(exc)
        finally:
            # A script proxy still held when soffice quits makes soffice abort.
            del script
        if value == SENTINEL_VALUE:
            return True, ""
        return False, (
            f"LibreOffice Basic did not compile the module (sentinel returned {value!r}; "
            "LibreOffice gives UNO callers no compiler message)"
        )

    def diagnose(self, code: str) -> str:
        """Which procedures fail when compiled alone, and whether their declaration does."""
        notes = []
        for item in _isolate_procedures(code):
            if self.try_compile(item.source)[0]:
                continue
            notes.append(f"- {item.label}")
            if not self.try_compile(item.declaration_source)[0]:
                notes.append(f"  {item.declaration_label}")
        if not notes:
            return "Every procedure compiles on its own: the failure lies outside them."
        return "Procedures that fail on their own:\n" + "\n".join(notes)


def _run(request: dict[str, Any]) -> dict[str, Any]:
    """Compile every module of the request; the JSON-ready answer."""
    timing: dict[str, float] = {}
    t0 = time.monotonic()
    office = _Office(request["soffice"], request["workdir"])
    # soffice blocked (on a dialog, say) blocks the UNO call waiting on it: past the
    # deadline the watchdog kills soffice, which ends that call with an exception.
    expired = threading.Event()

    def expire() -> None:
        expired.set()
        office.kill()

    watchdog = threading.Timer(request["timeout"], expire)
    watchdog.daemon = True
    watchdog.start()
    document = compiler = None
    try:
        office.connect()
        timing["start_s"] = time.monotonic() - t0
        document = office.new_calc_document()
        compiler = _Compiler(office, document)
        canary_ok, canary_message = compiler.try_compile(_CANARY)
        if not canary_ok:
            raise HarnessError(f"a known-good module did not compile: {canary_message}")
        timing["ready_s"] = time.monotonic() - t0
        results: dict[str, dict[str, Any]] = {}
        for name, code in request["modules"].items():
            compiled, message = compiler.try_compile(code)
            results[name] = {"compiled": compiled, "message": message}
        timing["compile_s"] = time.monotonic() - t0 - timing["ready_s"]
        t1 = time.monotonic()
        for name, result in results.items():
            if not result["compiled"]:
                result["message"] += "\n" + compiler.diagnose(request["modules"][name])
        timing["diagnose_s"] = time.monotonic() - t1
        return {"results": results, "timing": timing, "error": None}
    except Exception as exc:
        if expired.is_set():
            raise HarnessError(
                f"timed out after {request['timeout']} s ({_exception_text(exc)})"
            ) from None
        raise
    finally:
        watchdog.cancel()
        compiler = document = None  # release every proxy before soffice quits
        t2 = time.monotonic()
        office.shutdown()
        timing["shutdown_s"] = time.monotonic() - t2
        timing["total_s"] = time.monotonic() - t0


def worker() -> None:
    """Entry point under the system Python: JSON request on stdin, JSON answer on stdout."""
    # Whatever the office libraries print must not corrupt the answer.
    answer_fd = os.dup(1)
    os.dup2(2, 1)
    try:
        answer = _run(json.loads(sys.stdin.buffer.read()))
    except Exception as exc:
        answer = {"results": {}, "timing": {}, "error": _exception_text(exc)}
    with os.fdopen(answer_fd, "wb") as out:
        out.write(json.dumps(answer).encode())


if __name__ == "__main__":
    worker()
