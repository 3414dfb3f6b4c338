"""FACTOR_* calls computed outside Excel (values mode, the file refresh, the prefetch):
arguments shaped as each function's spec declares, and one formula evaluator per book.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from xlfactor.excel import registry
from xlfactor.excel.sheet import error_text


def udf_arguments(function_name: str, values: Iterable[Any]) -> list[Any]:
    """Evaluated formula arguments as the declaration of ``function_name`` receives them:
    shaped as its spec says (:meth:`~xlfactor.excel.registry.FunctionSpec.cell_arguments`).

    Raises
    ------
    InvalidInputError
        More arguments than the function declares.
    """
    from xlfactor.domain.errors import InvalidInputError

    try:
        return registry.FUNCTIONS[function_name].cell_arguments(values)
    except ValueError as err:
        raise InvalidInputError(str(err)) from None


def worksheet_functions(notes: list[str] | None = None) -> dict[str, Callable[..., Any]]:
    """``FACTOR_*`` name -> a callable taking evaluated formula arguments; each error
    message a call returns is appended to ``notes`` as ``NAME: message``."""
    def bind(name: str) -> Callable[..., Any]:
        spec = registry.FUNCTIONS[name]

        def call(*args: Any) -> Any:
            result = spec.compute(udf_arguments(name, args))
            if notes is not None:
                rows = result if isinstance(result, list) else [[result]]
                found = next((v for row in rows for v in (row if isinstance(row, list)
                                                          else [row]) if error_text(v)), None)
                if found is not None:
                    notes.append(f"{name} says {found}")
            return result

        return call

    return {name: bind(name) for name in registry.FUNCTIONS}


def evaluator_of(book: Any) -> Any:
    """The one evaluator of ``book`` (a :class:`~xlfactor.excel.books.FileBook` or
    :class:`~xlfactor.excel.books.LiveBook`), with the worksheet functions: made on first use and
    kept by the book, so the prefetch, the Inputs and every formula of a refresh share it
    (and its parsed defined names). A file book has it attached, so that reading an
    ordinary formula cell computes it. Its ``notes`` collect the error messages of the
    ``FACTOR_*`` calls (:func:`compute` clears them for each formula)."""
    from xlfactor.excel.evaluate import Evaluator

    if book.evaluator is None or not book.evaluator.functions:
        evaluator = Evaluator(book)
        evaluator.functions.update(worksheet_functions(evaluator.notes))
        book.attach(evaluator)
    return book.evaluator
