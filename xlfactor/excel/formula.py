"""Parse Excel cell formulas into a small tree of frozen dataclasses.

Only what xlfactor workbooks need: literals, A1 references (optionally sheet-qualified),
defined names, function calls, the arithmetic/text/comparison operators and array
constants. A whole-column or whole-row reference (``A:C``, ``$2:$5``) becomes the range it
names (``A1:C1048576``, ``A2:XFD5``); the reader of the cells decides how much of it holds
data (see :func:`is_whole_lines`). The range operator between arbitrary operands, unions,
intersections, structured and external references raise :class:`UnsupportedFormula`.
Evaluation lives in :mod:`xlfactor.excel.evaluate`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeAlias

from xlfactor.excel.addresses import (  # noqa: F401 - the address helpers, as before
    MAX_COL,
    MAX_ROW,
    column_letters,
    column_number,
    is_whole_lines,
)

# Excel stores newer functions as _xlfn.NAME (and _xlfn._xlws.SORT); UDFs may carry _xludf.
_PREFIXES = ("_XLFN.", "_XLUDF.", "_XLWS.")


class UnsupportedFormula(ValueError):
    """Valid Excel that this parser or evaluator deliberately does not handle."""


class FormulaSyntaxError(ValueError):
    """Text that is not a formula; ``position`` is the 0-based offset in the text given."""

    def __init__(self, message: str, text: str, position: int) -> None:
        super().__init__(f"{message} at position {position} in {text!r}")
        self.position = position


@dataclass(frozen=True)
class Literal:
    """A number (int or float), string or boolean constant."""

    value: Any  # int, float, str or bool


@dataclass(frozen=True)
class ErrorLiteral:
    """An error constant such as ``#N/A``."""

    code: str


@dataclass(frozen=True)
class Ref:
    """A cell or range; ``sheet`` None means the formula's own sheet."""

    sheet: str | None
    address: str  # "B5" or "B5:B14": no '$', upper case, top-left corner first


@dataclass(frozen=True)
class Name:
    """A defined name, as written; ``sheet`` is set for ``Sheet1!Name``."""

    name: str
    sheet: str | None = None


@dataclass(frozen=True)
class Missing:
    """An omitted argument, as in ``F(a,,c)``."""


@dataclass(frozen=True)
class Call:
    """A function call."""

    name: str  # upper case, storage prefixes removed
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Unary:
    """Prefix sign."""

    op: str  # "-" or "+"
    operand: Node


@dataclass(frozen=True)
class Binary:
    """An infix operator: ``^ * / + - & = <> < > <= >=``."""

    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Percent:
    """Postfix ``%``: the operand divided by 100."""

    operand: Node


@dataclass(frozen=True)
class ArrayConst:
    """An array constant such as ``{1,2;3,4}``, as rows."""

    rows: tuple[tuple[Any, ...], ...]  # int/float/str/bool, or ErrorLiteral for error constants


Node: TypeAlias = (Literal | ErrorLiteral | Ref | Name | Missing | Call | Unary | Binary | Percent
                   | ArrayConst)

# --- tokens -----------------------------------------------------------------------------

_SCAN = re.compile(r"""
    (?P<space>\s+)
  | (?P<string>"(?:[^"]|"")*")
  | (?P<error>\#(?:N/A|VALUE!|REF!|DIV/0!|NAME\?|NUM!|NULL!|SPILL!|CALC!|GETTING_DATA))
  | (?P<qsheet>'(?:[^']|'')+'!)
  | (?P<lines>\$?[A-Za-z]{1,3}:\$?[A-Za-z]{1,3}(?![\w.(])|\$?[0-9]+:\$?[0-9]+)
  | (?P<ref>(?P<c1>\$?[A-Za-z]{1,3}\$?[0-9]+)(?::(?P<c2>\$?[A-Za-z]{1,3}\$?[0-9]+))?)(?![\w.(!$])
  | (?P<number>(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)
  | (?P<word>(?:[^\W\d]|\\)[\w.\\?]*)(?P<bang>!)?
  | (?P<op><>|<=|>=|[-+*/^&=<>%])
  | (?P<punct>[(),;{}:])
  | (?P<other>.)
""", re.VERBOSE | re.IGNORECASE | re.DOTALL)


class _Token(NamedTuple):
    kind: str  # num str bool err ref name func op punct eof
    value: Any
    pos: int


def _cell(text: str) -> tuple[int, int] | None:
    """(row, col) of a cell like ``$AB$12``, or None if outside the sheet (then it is a name)."""
    m = re.fullmatch(r"([A-Z]+)([0-9]+)", text.replace("$", "").upper())
    row, col = int(m.group(2)), column_number(m.group(1))  # type: ignore[union-attr]
    return (row, col) if 1 <= row <= MAX_ROW and col <= MAX_COL else None


def _address(c1: str, c2: str | None) -> str | None:
    first = _cell(c1)
    second = _cell(c2) if c2 else first
    if first is None or second is None:
        return None
    (r1, k1), (r2, k2) = first, second
    top_left = f"{column_letters(min(k1, k2))}{min(r1, r2)}"
    # A range stays a range even when 1x1 ("A1:A1"): the evaluator passes it as a 2-D list
    return top_left if c2 is None else f"{top_left}:{column_letters(max(k1, k2))}{max(r1, r2)}"


def _lines(text: str) -> str | None:
    """``"A:C"`` -> ``"A1:C1048576"``, ``"$2:$5"`` -> ``"A2:XFD5"``; None past the sheet."""
    first, second = text.replace("$", "").upper().split(":")
    if first.isdigit():
        r1, r2 = sorted((int(first), int(second)))
        return f"A{r1}:XFD{r2}" if 1 <= r1 and r2 <= MAX_ROW else None
    k1, k2 = sorted((column_number(first), column_number(second)))
    if k2 > MAX_COL:
        return None
    return f"{column_letters(k1)}1:{column_letters(k2)}{MAX_ROW}"


def _tokens(text: str, offset: int) -> Iterator[_Token]:
    pos, sheet, sheet_pos = offset, None, offset
    while pos < len(text):
        m = _SCAN.match(text, pos)
        assert m is not None  # the 'other' branch matches any character
        kind, start, pos = m.lastgroup, m.start(), m.end()
        if sheet is not None and kind not in ("ref", "word", "error", "lines"):
            raise FormulaSyntaxError("expected a reference or name after the sheet", text, start)
        if kind == "space":
            continue
        if kind == "string":
            yield _Token("str", m.group()[1:-1].replace('""', '"'), start)
        elif kind == "error":
            yield _Token("err", m.group().upper(), sheet_pos if sheet is not None else start)
            sheet = None
        elif kind == "qsheet":
            sheet, sheet_pos = m.group()[1:-2].replace("''", "'"), start
        elif kind == "lines":
            address = _lines(m.group())
            if address is None:
                raise FormulaSyntaxError("reference outside the sheet", text, start)
            yield _Token("ref", (sheet, address), sheet_pos if sheet is not None else start)
            sheet = None
        elif kind == "ref":
            address = _address(m.group("c1"), m.group("c2"))
            here = sheet_pos if sheet is not None else start
            if address is not None:
                yield _Token("ref", (sheet, address), here)
            elif m.group().isalnum():  # ZZZ1 is past column XFD: Excel reads it as a name
                yield _Token("name", (m.group(), sheet), here)
            else:
                raise FormulaSyntaxError("reference outside the sheet", text, start)
            sheet = None
        elif kind == "number":
            raw = m.group()
            yield _Token("num", int(raw) if raw.isdigit() else float(raw), start)
        elif kind in ("word", "bang"):
            word = m.group("word")
            if m.group("bang"):
                sheet, sheet_pos = word, start
            elif sheet is None and text.startswith("(", pos):
                name = word.upper()
                while name.startswith(_PREFIXES):
                    name = name.split(".", 1)[1]
                yield _Token("func", name, start)
                pos += 1  # the '(' belongs to the call
            elif sheet is None and word.upper() in ("TRUE", "FALSE"):
                yield _Token("bool", word.upper() == "TRUE", start)
            else:
                yield _Token("name", (word, sheet), sheet_pos if sheet is not None else start)
                sheet = None
        elif kind in ("op", "punct"):
            yield _Token(kind, m.group(), start)
        elif m.group() in "[@":
            what = "implicit intersection '@'" if m.group() == "@" else "structured/external reference"
            raise UnsupportedFormula(what)
        else:
            what = {'"': "unterminated string", "'": "unterminated sheet name"}.get(m.group())
            raise FormulaSyntaxError(what or f"unexpected {m.group()!r}", text, start)
    if sheet is not None:
        raise FormulaSyntaxError("expected a reference or name after the sheet", text, pos)
    yield _Token("eof", None, len(text))


# --- parser -----------------------------------------------------------------------------

# Excel's binary precedence, loosest first; all left-associative (2^3^2 is 64 in Excel)
_BINARY = {"=": 1, "<>": 1, "<": 1, ">": 1, "<=": 1, ">=": 1, "&": 2, "+": 3, "-": 3,
           "*": 4, "/": 4, "^": 5}


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        offset = len(text) - len(text.lstrip())
        offset += text.startswith("=", offset)
        self.tokens = list(_tokens(text, offset))
        self.i = 0

    @property
    def tok(self) -> _Token:
        return self.tokens[self.i]

    def fail(self, message: str, token: _Token | None = None) -> FormulaSyntaxError:
        token = token or self.tok
        what = "end of formula" if token.kind == "eof" else repr(self.text[token.pos])
        return FormulaSyntaxError(f"{message}, found {what}", self.text, token.pos)

    def take(self, kind: str, value: str | None = None) -> bool:
        if self.tok.kind == kind and (value is None or self.tok.value == value):
            self.i += 1
            return True
        return False

    def formula(self) -> Node:
        node = self.expression(1)
        if self.tok.kind != "eof":
            self.unsupported_operator()
            raise self.fail("expected an operator")
        return node

    def unsupported_operator(self) -> None:
        """Name the Excel reference operators we do not evaluate, instead of a vague error."""
        tok = self.tok
        if tok.kind == "punct" and tok.value == ":":
            raise UnsupportedFormula("range operator ':' between expressions")
        if tok.kind in ("ref", "name") and self.tokens[self.i - 1].kind in ("ref", "name", "punct"):
            raise UnsupportedFormula("intersection operator (space)")

    def expression(self, min_level: int) -> Node:
        left = self.postfix()
        while self.tok.kind == "op" and _BINARY.get(self.tok.value, 0) >= min_level:
            op = self.tok.value
            self.i += 1
            left = Binary(op, left, self.expression(_BINARY[op] + 1))
        return left

    def postfix(self) -> Node:
        node = self.prefix()
        while self.take("op", "%"):
            node = Percent(node)
        return node

    def prefix(self) -> Node:
        # Negation binds tighter than '^' and '%' in Excel: -2^2 is 4
        tok = self.tok
        if tok.kind == "op" and tok.value in "+-":
            self.i += 1
            return Unary(tok.value, self.prefix())
        return self.primary()

    def primary(self) -> Node:
        tok = self.tok
        self.i += 1
        if tok.kind in ("num", "str", "bool"):
            return Literal(tok.value)
        if tok.kind == "err":
            return ErrorLiteral(tok.value)
        if tok.kind == "ref":
            return Ref(*tok.value)
        if tok.kind == "name":
            return Name(tok.value[0], tok.value[1])
        if tok.kind == "func":
            return Call(tok.value, self.arguments())
        if tok.kind == "punct" and tok.value == "(":
            node = self.expression(1)
            if self.tok.kind == "punct" and self.tok.value == ",":
                raise UnsupportedFormula("union operator ','")
            if not self.take("punct", ")"):
                self.unsupported_operator()
                raise self.fail("expected ')'")
            return node
        if tok.kind == "punct" and tok.value == "{":
            return self.array()
        raise self.fail("expected a value", tok)

    def arguments(self) -> tuple[Node, ...]:
        if self.take("punct", ")"):
            return ()
        args: list[Node] = []
        while True:
            at_separator = self.tok.kind == "punct" and self.tok.value in ",)"
            args.append(Missing() if at_separator else self.expression(1))
            if self.take("punct", ")"):
                return tuple(args)
            if not self.take("punct", ","):
                self.unsupported_operator()
                raise self.fail("expected ',' or ')'")

    def array(self) -> ArrayConst:
        rows: list[tuple[Any, ...]] = []
        row: list[Any] = []
        while True:
            start, sign = self.tok, 1
            while self.tok.kind == "op" and self.tok.value in "+-":
                sign = -sign if self.tok.value == "-" else sign
                self.i += 1
            tok = self.tok
            self.i += 1
            if tok.kind == "num":
                row.append(sign * tok.value)
            elif tok.kind in ("str", "bool", "err") and start is tok:
                row.append(ErrorLiteral(tok.value) if tok.kind == "err" else tok.value)
            else:
                raise self.fail("expected a constant in the array", tok)
            if self.take("punct", ","):
                continue
            rows.append(tuple(row))
            row = []
            if self.take("punct", "}"):
                break
            if not self.take("punct", ";"):
                raise self.fail("expected ',', ';' or '}'")
        if len({len(r) for r in rows}) != 1:
            raise FormulaSyntaxError("array constant rows differ in length", self.text, start.pos)
        return ArrayConst(tuple(rows))


def parse(text: str) -> Node:
    """Parse a cell formula such as ``=FACTOR_STATS(INDEX(Tickers,1),Model)``.

    Parameters
    ----------
    text : str
        The formula, with or without the leading ``=``; also a defined name's refers-to
        text such as ``Inputs!$B$5:$B$14``.

    Returns
    -------
    Node
        The root of the tree.

    Raises
    ------
    FormulaSyntaxError
        Not a formula; the error carries the offending ``position``.
    UnsupportedFormula
        Valid Excel outside the supported subset (unions, intersections, ...).

    Notes
    -----
    Each distinct text is parsed once (a bounded cache: the trees are immutable, so a
    workbook's repeated formulas and defined names share theirs).
    """
    return _parse_text(text)


@functools.lru_cache(maxsize=4096)
def _parse_text(text: str) -> Node:
    return _Parser(text).formula()


def calls(node: Node, prefix: str = "FACTOR_") -> list[Call]:
    """Every :class:`Call` whose name starts with ``prefix``, outermost and leftmost first.

    Parameters
    ----------
    node : Node
        A parsed formula.
    prefix : str
        Case-insensitive function-name prefix; ``""`` lists every call.

    Returns
    -------
    list of Call
        In the order the calls start in the formula text.
    """
    prefix = prefix.upper()
    found: list[Call] = []

    def walk(n: Node) -> None:
        if isinstance(n, Call):
            if n.name.startswith(prefix):
                found.append(n)
            children: tuple[Node, ...] = n.args
        elif isinstance(n, Binary):
            children = (n.left, n.right)
        elif isinstance(n, (Unary, Percent)):
            children = (n.operand,)
        else:
            children = ()
        for child in children:
            walk(child)

    walk(node)
    return found
