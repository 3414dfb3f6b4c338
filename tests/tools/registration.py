"""What Excel sees of :mod:`xlfactor.udfs`, computed on any operating system.

On Linux and macOS ``import xlwings`` hands out no-op ``@xw.func``/``@xw.arg``/``@xw.ret``
decorators (see ``xlwings/__init__.py``): the UDFs carry no ``__xlfunc__`` metadata and
nothing checks their declarations. The real classic-UDF machinery in ``xlwings/udfs.py``
(``xlfunc``, ``xlarg``, ``xlret``, ``generate_vba_wrapper``, the conversion done in
``call_udf``) is plain Python that only *imports* the Windows-only pywin32 modules. This
module stubs those modules for the duration of an import, loads the real machinery, and
uses it to

* read the metadata Excel's "Import Functions" would register (:func:`udf_metadata`),
* produce the VBA module it would write (:func:`vba_module`, :func:`import_functions`),
* call a UDF the way ``call_udf`` does on Windows, minus COM (:func:`excel_call`).

``xlwings.conversion`` needs an ``excel`` engine to clean values read from and written to
Excel. The real one is ``xlwings._xlwindows.Engine``; its module imports nine pywin32
modules and calls ``ctypes.windll``/``oledll``/``PyDLL`` at import time, so it is imported
with the same stubs plus placeholder ctypes names (restored right after). Its two
conversion methods are pure Python and run unchanged. Should that import ever fail (a
future xlwings), :class:`StandInExcelEngine` follows the documented behaviour instead and
:attr:`Registration.engine_note` says why.

Nothing here changes the normal ``xlfactor.udfs`` module or leaves stubs behind: every
entry added to ``sys.modules``, every ``xlwings`` attribute and every patched ``ctypes``
name is put back when :func:`classic_xlwings` exits. The loaded machinery is kept (its
module globals still refer to the stubs it was imported with), so later calls are cheap.

Importing this module is cheap: xlwings is imported inside the functions only.
"""

from __future__ import annotations

import contextlib
import copy
import ctypes
import datetime as dt
import functools
import importlib
import importlib.util
import inspect
import io
import math
import os
import sys
import threading
import types
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

#: What COM passes for an omitted optional argument (``VT_ERROR`` ``DISP_E_PARAMNOTFOUND``);
#: ``xlwings.udfs.call_udf`` replaces it by the declared default.
MISSING = -2147352572

#: Excel cell errors as COM hands them to Python (``VT_ERROR`` codes), by display text.
EXCEL_ERROR_CODES: dict[str, int] = {
    "#DIV/0!": -2146826281,
    "#N/A": -2146826246,
    "#NAME?": -2146826259,
    "#NULL!": -2146826288,
    "#NUM!": -2146826252,
    "#REF!": -2146826265,
    "#VALUE!": -2146826273,
}

#: pywin32 modules that ``xlwings.udfs`` and ``xlwings._xlwindows`` import.
WINDOWS_MODULES: tuple[str, ...] = (
    "pythoncom",
    "pywintypes",
    "win32api",
    "win32con",
    "win32com",
    "win32com.client",
    "win32gui",
    "win32process",
    "win32timezone",
)

# One registration at a time: the stubs live in process-global sys.modules.
_LOCK = threading.RLock()


# -- stand-ins for pywin32 ------------------------------------------------------------------
class _Anything:
    """A placeholder that accepts any call, attribute read or attribute write.

    Module-level code of ``xlwings._xlwindows`` calls into pywin32/ctypes objects (e.g.
    ``oledll.ole32.CLSIDFromString(...)``); the results are never used off Windows.
    """

    def __init__(self, name: str) -> None:
        self._name = name

    def __call__(self, *args: Any, **kwargs: Any) -> _Anything:
        return _Anything(f"{self._name}()")

    def __getattr__(self, item: str) -> _Anything:
        # Only reached for names never set; dunders stay missing so that copy, pickle and
        # the import system do not mistake a placeholder for a real protocol object.
        if item.startswith("__"):
            raise AttributeError(item)
        return _Anything(f"{self._name}.{item}")

    def __repr__(self) -> str:
        return f"<stub {self._name}>"


class _StubModule(types.ModuleType):
    """A module whose unknown public attributes are :class:`_Anything` placeholders."""

    def __getattr__(self, item: str) -> Any:
        if item.startswith("__"):
            raise AttributeError(item)
        return _Anything(f"{self.__name__}.{item}")


class _UTC:
    """``win32timezone.TimeZoneInfo``: only ``utc()`` is used (to send dates to COM)."""

    @staticmethod
    def utc() -> dt.tzinfo:
        return dt.timezone.utc


def _stub_modules() -> dict[str, types.ModuleType]:
    """Fresh stand-ins for :data:`WINDOWS_MODULES`.

    Classes are real classes where xlwings uses them in ``isinstance`` checks or ``except``
    clauses; everything else is a permissive placeholder.
    """
    mods = {name: _StubModule(name, "tools.registration stand-in") for name in WINDOWS_MODULES}
    for mod in mods.values():
        mod.__file__ = f"<stand-in {mod.__name__}>"
    pywintypes = mods["pywintypes"]

    class com_error(Exception):  # pywin32's spelling
        """pywintypes.com_error."""

        hresult = 0

    class TimeType(dt.datetime):
        """pywintypes.TimeType: a datetime subclass in pywin32 on Python 3."""

    pywintypes.com_error = com_error
    pywintypes.error = type("error", (Exception,), {})
    pywintypes.TimeType = TimeType
    pywintypes.IID = lambda text: text
    mods["pythoncom"].com_error = com_error
    mods["pythoncom"].ole_error = com_error
    mods["pythoncom"].CoInitialize = lambda: None
    mods["win32timezone"].TimeZoneInfo = _UTC
    client = mods["win32com.client"]
    for name in ("CDispatch", "CoClassBaseClass", "DispatchBaseClass"):
        setattr(client, name, type(name, (), {}))
    win32com = mods["win32com"]
    win32com.__path__ = []  # a package, so "import win32com.client" resolves
    win32com.client = client
    return mods


@contextlib.contextmanager
def _ctypes_for_windows_import() -> Iterator[None]:
    """``windll``/``oledll`` exist only on Windows and ``PyDLL(pythoncom.__file__)`` would
    dlopen a DLL: give ``_xlwindows`` placeholders for its import, then restore ctypes."""
    names = ("windll", "oledll", "PyDLL")
    saved = {n: getattr(ctypes, n) for n in names if hasattr(ctypes, n)}
    ctypes.windll = _Anything("ctypes.windll")  # type: ignore[attr-defined]
    ctypes.oledll = _Anything("ctypes.oledll")  # type: ignore[attr-defined]
    ctypes.PyDLL = _Anything("ctypes.PyDLL")  # type: ignore[misc,assignment]
    try:
        yield
    finally:
        for n in names:
            if n in saved:
                setattr(ctypes, n, saved[n])
            else:
                delattr(ctypes, n)


# -- the loaded machinery ----------------------------------------------------------------
@dataclass(frozen=True)
class Registration:
    """The real xlwings classic-UDF machinery and a UDF module decorated by it.

    Attributes
    ----------
    module_name : str
        The UDF module as Excel names it (``"xlfactor.udfs"``).
    module : ModuleType
        A fresh copy of that module, loaded under a private name with the real decorators:
        its functions carry ``__xlfunc__``.
    xlwings_udfs : ModuleType
        The real ``xlwings.udfs`` (``xlfunc``, ``generate_vba_wrapper``, ``import_udfs``...).
    engine : object
        The ``excel`` engine implementation used by ``xlwings.conversion``: the real
        ``xlwings._xlwindows.Engine`` when it imports, else :class:`StandInExcelEngine`.
    engine_is_real : bool
        Whether ``engine`` is the real Windows engine.
    engine_note : str
        Why the stand-in is used (empty when the engine is real).
    """

    module_name: str
    module: types.ModuleType
    xlwings_udfs: types.ModuleType
    engine: Any
    engine_is_real: bool
    engine_note: str = ""
    functions: dict[str, Any] = field(default_factory=dict)

    def call(self, func_name: str, *args: Any, caller: Any = None) -> Any:
        """Call a UDF of this registration as Excel does; see :func:`excel_call`."""
        from xlwings import conversion

        func = self.functions.get(func_name)
        if func is None:
            raise AttributeError(f"{self.module_name} has no UDF {func_name!r}")
        info = func.__xlfunc__
        declared = info["args"]
        # "caller" is not a VBA parameter: the wrapper passes Nothing in its place and
        # call_udf puts the calling Range there.
        visible = [a for a in declared if a["name"] != "caller"]
        if len(args) > len(visible) and not any(a["vararg"] for a in declared):
            raise TypeError(
                f"{func_name} takes at most {len(visible)} arguments, got {len(args)}")
        # VBA's Array(...) passes every declared parameter; omitted ones arrive as MISSING.
        values = list(args) + [MISSING] * (len(visible) - len(args))
        for arg_info in declared:
            if arg_info["name"] == "caller":
                values.insert(arg_info["pos"], _CALLER)
        with excel_engine(self.engine):
            converted = []
            for i, value in enumerate(values):
                arg_info = declared[min(i, len(declared) - 1)]
                if value is _CALLER:
                    converted.append(caller)
                elif isinstance(value, int) and value == MISSING:
                    converted.append(arg_info.get("optional", None))
                else:
                    converted.append(conversion.read(None, value, arg_info["options"]))
            result = func(*converted)
            return conversion.write(result, None, info["ret"]["options"])


_CALLER = object()  # marks the position of the reserved "caller" argument


_PRIVATE_PREFIX = "_xlfactor_registration_"


def _private_name(module_name: str) -> str:
    return _PRIVATE_PREFIX + module_name.replace(".", "_")


def _load_fresh(module_name: str) -> types.ModuleType:
    """Execute ``module_name``'s source file as a new module (the imported one is untouched).

    A module that re-exports functions declared in another module of its package (as
    ``xlfactor.udfs`` re-exports ``xlfactor.excel.udfs``) gets fresh copies of those too,
    declared under the real xlwings decorators, as an import inside Excel would give.
    """
    module = _exec_fresh(module_name)
    package = module_name.split(".")[0]
    sources = {value.__module__ for value in vars(module).values()
               if inspect.isfunction(value) and value.__module__ != module_name
               and value.__module__.split(".")[0] == package}
    for source in sorted(sources):
        declared = _exec_fresh(source)
        for name, value in list(vars(module).items()):
            if inspect.isfunction(value) and value.__module__ == source:
                setattr(module, name, getattr(declared, name))
    return module


def _exec_fresh(module_name: str) -> types.ModuleType:
    """Execute one module's source file as a new, privately named module."""
    spec = importlib.util.find_spec(module_name)
    if spec is None or spec.origin is None:
        raise ImportError(f"cannot find the UDF module {module_name!r}")
    private = _private_name(module_name)
    fresh_spec = importlib.util.spec_from_file_location(private, spec.origin)
    if fresh_spec is None or fresh_spec.loader is None:
        raise ImportError(f"cannot load {spec.origin}")
    module = importlib.util.module_from_spec(fresh_spec)
    # In sys.modules while it executes, as for any import (typing.get_type_hints and
    # dataclasses look modules up there); classic_xlwings removes it again.
    sys.modules[private] = module
    fresh_spec.loader.exec_module(module)
    return module


def _import_windows_engine() -> tuple[Any, str]:
    """The real ``xlwings._xlwindows.engine``, or ``(None, reason)`` when it cannot import."""
    if "xlwings._xlwindows" in sys.modules:  # Windows: xlwings imported it itself
        return sys.modules["xlwings._xlwindows"].engine, ""
    cwd = os.getcwd()  # _xlwindows chdirs to sys.exec_prefix while importing pywin32
    try:
        with _ctypes_for_windows_import():
            xlwindows = importlib.import_module("xlwings._xlwindows")
    except Exception as err:  # noqa: BLE001 - any failure means: use the stand-in
        return None, f"xlwings._xlwindows did not import: {type(err).__name__}: {err}"
    finally:
        os.chdir(cwd)
    import atexit

    # Our copy's atexit hook would run "tasklist"/"taskkill" to reap Excel processes.
    cleanup = getattr(xlwindows, "cleanup", None)
    if cleanup is not None:
        atexit.unregister(cleanup)
    return xlwindows.engine, ""


@contextlib.contextmanager
def classic_xlwings(module_name: str = "xlfactor.udfs") -> Iterator[Registration]:
    """Load the real xlwings classic-UDF machinery and a fresh copy of ``module_name``.

    Inside the block, the missing pywin32 modules are stubbed in ``sys.modules`` and
    ``xlwings.func``/``arg``/``ret``/``sub``/``script`` are the real ``xlfunc``/``xlarg``/
    ``xlret``/``xlsub``. On exit ``sys.modules``, the ``xlwings`` package attributes and
    ``ctypes`` are exactly as before (modules imported for the first time that never saw a
    stub, e.g. ``asyncio``, stay: removing them could duplicate their classes). The
    yielded :class:`Registration` remains usable afterwards.
    """
    import xlwings

    with _LOCK:
        saved_modules = dict(sys.modules)
        saved_xlwings = dict(vars(xlwings))
        stubbed = set()
        try:
            real = {top for top in {n.split(".")[0] for n in WINDOWS_MODULES}
                    if top in sys.modules or importlib.util.find_spec(top) is not None}
            for name, mod in _stub_modules().items():
                if name.split(".")[0] in real:
                    continue  # real pywin32 (Windows): use it
                sys.modules[name] = mod
                stubbed.add(name)
            xlwings_udfs = importlib.import_module("xlwings.udfs")
            xlwings.func = xlwings_udfs.xlfunc
            xlwings.arg = xlwings_udfs.xlarg
            xlwings.ret = xlwings_udfs.xlret
            xlwings.sub = xlwings.script = xlwings_udfs.xlsub
            module = _load_fresh(module_name)
            engine, note = _import_windows_engine()
            if engine is None:
                engine = StandInExcelEngine()
            functions = {
                name: obj for name in dir(module)
                if hasattr(obj := getattr(module, name), "__xlfunc__")
            }
            yield Registration(module_name, module, xlwings_udfs, engine, not note, note,
                               functions)
        finally:
            for name in list(sys.modules):
                if name not in saved_modules and (
                        name in stubbed or name.startswith("xlwings.")
                        or name.startswith(_PRIVATE_PREFIX)):
                    # These saw the stubs; a later genuine import must not get them.
                    del sys.modules[name]
            for name, mod in saved_modules.items():
                if sys.modules.get(name) is not mod:
                    sys.modules[name] = mod
            for key in set(vars(xlwings)) - set(saved_xlwings):
                delattr(xlwings, key)
            for key, value in saved_xlwings.items():
                if vars(xlwings).get(key, object()) is not value:
                    setattr(xlwings, key, value)


@functools.lru_cache(maxsize=4)
def load(module_name: str = "xlfactor.udfs") -> Registration:
    """The :class:`Registration` of ``module_name``, loaded once per process.

    ``load.cache_clear()`` forces a fresh load (e.g. after editing the UDF module).
    """
    with classic_xlwings(module_name) as registration:
        return registration


# -- public helpers ----------------------------------------------------------------------------
def udf_metadata(module_name: str = "xlfactor.udfs") -> dict[str, dict[str, Any]]:
    """Function name -> its ``__xlfunc__`` dict, as the real xlwings decorators build it.

    Keys of each dict: ``name``, ``sub``, ``args`` (list of ``{name, pos, vba, doc, vararg,
    options[, optional]}``; ``optional`` holds the default of an optional argument),
    ``argmap``, ``ret`` (``{doc, options}``), ``category``, ``call_in_wizard``, ``volatile``,
    ``async_mode``. A deep copy: changing it does not affect later calls.
    """
    reg = load(module_name)
    return {name: copy.deepcopy(f.__xlfunc__) for name, f in sorted(reg.functions.items())}


class _Workbook:
    """The one attribute of an Excel workbook that ``generate_vba_wrapper`` reads."""

    def __init__(self, name: str) -> None:
        self.Name = name


def vba_module(module_name: str = "xlfactor.udfs",
               workbook_name: str = "xlfactor_template.xlsm") -> str:
    """The VBA that "Import Functions" writes for ``module_name``, by the real
    ``xlwings.udfs.generate_vba_wrapper``: one ``Function`` per UDF, alphabetical, each
    calling ``XLPy.CallUDF("<module_name>", "<NAME>", Array(...), ThisWorkbook, ...)``.

    The three header lines (``Attribute VB_Name = "xlwings_udfs"``...) are written by
    ``import_udfs`` around it; :func:`import_functions` returns the whole file.
    ``workbook_name`` matters only in that an ``.xlam`` add-in uses ``ActiveWorkbook``.
    """
    reg = load(module_name)
    out = io.StringIO()
    reg.xlwings_udfs.generate_vba_wrapper(module_name, reg.module, out, _Workbook(workbook_name))
    return out.getvalue()


@dataclass
class _VBComponents:
    imported: list[str] = field(default_factory=list)

    def __call__(self, name: str) -> str:
        return name

    def Remove(self, component: Any) -> None:  # the COM method name
        pass

    def Import(self, path: str) -> None:  # the COM method name
        with open(path, encoding="utf-8") as fh:
            self.imported.append(fh.read())


class _ImportWorkbook(_Workbook):
    """What ``import_udfs`` touches of a workbook: its VB project and ``MacroOptions``."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.components = _VBComponents()
        self.macro_options: list[dict[str, Any]] = []
        self.VBProject = types.SimpleNamespace(VBComponents=self.components)
        self.Application = types.SimpleNamespace(Version="16.0", MacroOptions=self._macro_options)

    def _macro_options(self, macro: str, **kwargs: Any) -> None:
        self.macro_options.append({"Macro": macro, **kwargs})


def import_functions(module_name: str = "xlfactor.udfs",
                     workbook_name: str = "xlfactor_template.xlsm",
                     ) -> tuple[str, list[dict[str, Any]]]:
    """Run the real ``xlwings.udfs.import_udfs`` ("Import Functions") against a stand-in
    workbook of Excel 16.

    Returns
    -------
    vba : str
        The complete ``xlwings_udfs`` module file it imports into the VB project.
    macro_options : list of dict
        Its ``Application.MacroOptions`` calls, one per function: ``Macro``,
        ``Description``, ``Category``, ``ArgumentDescriptions``... exactly what Excel's
        Insert Function dialog then shows (xlwings cuts each text to 255 characters).
    """
    reg = load(module_name)
    udfs = reg.xlwings_udfs
    # get_udf_module would import module_name normally (no __xlfunc__ off Windows) and
    # open the workbook over COM to look for embedded code; hand it the decorated copy.
    udfs.udf_modules[module_name] = {"filename": None, "filetime": None, "module": reg.module}
    book = _ImportWorkbook(workbook_name)
    with contextlib.redirect_stdout(io.StringIO()):  # its "Imported functions..." print
        udfs.import_udfs(module_name, book)
    return book.components.imported[-1], book.macro_options


# -- calling a UDF as Excel does -----------------------------------------------------------
class StandInExcelEngine:
    """The two ``excel`` engine methods ``xlwings.conversion`` uses for UDF values.

    Used only when the real ``xlwings._xlwindows`` cannot be imported under stubs. It
    follows the documented behaviour of the Windows engine:

    * reading (``clean_value_data``): ``None``/``""`` become the ``empty`` option (default
      ``None``); dates become ``datetime`` via the ``dates`` handler; floats go through the
      ``numbers`` handler; COM error codes become ``"#N/A"``, ``"#DIV/0!"``... with
      ``err_to_str=True`` and ``None`` without.
    * writing (``prepare_xl_data_element``): datetimes are handed to COM as UTC-stamped
      datetimes; ``None``, NaN and ``NaT`` become ``""`` (an EMPTY cell, which is why
      xlfactor writes missing numbers as the text ``#N/A``); numpy numbers become floats.
    """

    name = "excel"
    type = "desktop"

    @staticmethod
    def clean_value_data(data: list[list[Any]], datetime_builder: Any, empty_as: Any,
                         number_builder: Any, err_to_str: bool) -> list[list[Any]]:
        """Excel values as read from COM -> Python values."""
        errors = {code: text for text, code in EXCEL_ERROR_CODES.items()}

        def one(value: Any) -> Any:
            if value is None or (isinstance(value, str) and value == ""):
                return empty_as
            if isinstance(value, dt.datetime):
                return datetime_builder(
                    year=value.year, month=value.month, day=value.day, hour=value.hour,
                    minute=value.minute, second=value.second,
                    microsecond=value.microsecond, tzinfo=None)
            if number_builder is not None and isinstance(value, float):
                return number_builder(value)
            if isinstance(value, int) and not isinstance(value, bool) and value in errors:
                return errors[value] if err_to_str else None
            return value

        return [[one(c) for c in row] for row in data]

    @staticmethod
    def prepare_xl_data_element(x: Any, date_format: Any) -> Any:
        """A Python value -> what COM receives."""
        import numpy as np
        import pandas as pd

        if x is pd.NaT or x is pd.NA:
            return ""
        if isinstance(x, (np.datetime64, pd.Timestamp)):
            x = pd.Timestamp(x).to_pydatetime()
        if isinstance(x, dt.datetime):
            return x.replace(tzinfo=None).replace(tzinfo=dt.timezone.utc)
        if isinstance(x, dt.date):
            return dt.datetime(x.year, x.month, x.day, tzinfo=dt.timezone.utc)
        if x is None:
            return ""
        if isinstance(x, (float, np.floating)) and math.isnan(x):
            return ""
        if isinstance(x, np.number):
            return float(x)
        return x


@contextlib.contextmanager
def excel_engine(engine: Any) -> Iterator[None]:
    """Register ``engine`` as xlwings' ``"excel"`` engine for the block (unless one exists,
    as on Windows). ``xlwings.conversion`` looks it up for range-less UDF values."""
    import xlwings

    engines = xlwings.engines
    with _LOCK:
        if "excel" in engines.engines_by_name:
            yield
            return
        wrapper = xlwings.Engine(impl=engine)
        engines.add(wrapper)
        try:
            yield
        finally:
            engines.engines.remove(wrapper)
            del engines.engines_by_name["excel"]


def excel_call(func_name: str, *args: Any, module_name: str = "xlfactor.udfs",
               caller: Any = None) -> Any:
    """Call UDF ``func_name`` as ``xlwings.udfs.call_udf`` does on Windows, minus COM.

    ``args`` are what COM would pass, in order: scalars, tuples/lists of rows for ranges
    and array constants, ``None`` for blank cells, ``datetime`` for dates, COM error
    codes (:data:`EXCEL_ERROR_CODES`) for error cells, :data:`MISSING` for omitted
    arguments. Trailing arguments not given are omitted ones (VBA's ``Array(...)`` passes
    every declared parameter). An omitted argument takes its declared default; every
    other one goes through the real ``xlwings.conversion.read(None, value, options)`` with
    its declared options, and the result through ``xlwings.conversion.write(result, None,
    ret_options)``, whose value (what COM would hand to Excel) is returned: NaN and
    ``None`` become ``""`` (an empty cell), datetimes are stamped UTC as pywin32 needs
    (``win32timezone.TimeZoneInfo.utc()``, here ``datetime.timezone.utc``). Exceptions
    propagate (in Excel, the VBA wrapper would show their text in the cell). ``caller``
    stands for the calling cell (an ``xlwings.Range`` in Excel) for UDFs that declare it.
    """
    return load(module_name).call(func_name, *args, caller=caller)


__all__ = [
    "EXCEL_ERROR_CODES",
    "MISSING",
    "WINDOWS_MODULES",
    "Registration",
    "StandInExcelEngine",
    "classic_xlwings",
    "excel_call",
    "excel_engine",
    "import_functions",
    "load",
    "udf_metadata",
    "vba_module",
]
