"""Names a VBA procedure or parameter must not take, and the generated module's shape.

Sources: the VBA language specification, MS-VBAL section 3.3.5.2 "Reserved Identifiers and
IDENTIFIER" (statement keywords, marker keywords, operator identifiers, reserved names,
special forms, reserved type identifiers, literal identifiers, names reserved for the
implementation and for future use); the keywords of the ``Open`` statement (MS-VBAL
5.4.5.1: ``Access``, ``Append``, ``Binary``, ``Output``, ``Random``, ``Read``...) and of the
other statements whose grammar gives words a meaning in context (``Option Compare``,
``Declare ... Lib ... Alias``, ``Property``, ``Name ... As``, ``Error``). ``Currency`` is
also a reserved type name, and a parameter named ``currency`` is known to break xlwings'
*Import Functions*.

Excel adds its own rules for worksheet function names: a name that reads as a cell
reference (``AB12``, ``R1C1``, ``R``, ``C``) is taken as that reference in a formula.
"""

from __future__ import annotations

import re

STATEMENT_KEYWORDS = """
Call Case Close Const Declare DefBool DefByte DefCur DefDate DefDbl DefInt DefLng DefLngLng
DefLngPtr DefObj DefSng DefStr DefVar Dim Do Else ElseIf End EndIf Enum Erase Event Exit For
Friend Function Get Global GoSub GoTo If Implements Input Let Lock Loop LSet Next On Open
Option Print Private Public Put RaiseEvent ReDim Resume Return RSet Seek Select Set Static
Stop Sub Type Unlock Wend While With Write
"""
REM_KEYWORD = "Rem"
MARKER_KEYWORDS = """
Any As ByRef ByVal Case Each Else In New Shared Until WithEvents Write Optional ParamArray
Preserve Spc Tab Then To
"""
OPERATOR_IDENTIFIERS = "AddressOf And Eqv Imp Is Like New Mod Not Or TypeOf Xor"
RESERVED_NAMES = """
Abs CBool CByte CCur CDate CDbl CDec CInt CLng CLngLng CLngPtr CSng CStr CVar CVErr Date
Debug DoEvents Fix Int Len LenB Me PSet Scale Sgn String
"""
SPECIAL_FORMS = "Array Circle Input InputB LBound Scale UBound"
RESERVED_TYPE_IDENTIFIERS = """
Boolean Byte Currency Date Double Integer Long LongLong LongPtr Single String Variant
"""
LITERAL_IDENTIFIERS = "True False Nothing Empty Null"
RESERVED_FOR_IMPLEMENTATION = """
Attribute LineInput VB_Base VB_Control VB_Creatable VB_Customizable VB_Description
VB_Exposed VB_Ext_KEY VB_GlobalNameSpace VB_HelpID VB_Invoke_Func VB_Invoke_Property
VB_Invoke_PropertyPut VB_Invoke_PropertyPutRef VB_MemberFlags VB_Name VB_PredeclaredId
VB_ProcData VB_TemplateDerived VB_UserMemId VB_VarDescription VB_VarHelpID
VB_VarMemberFlags VB_VarProcData VB_VarUserMemId
"""
FUTURE_RESERVED = "CDecl Decimal DefDec"
#: Words with a meaning inside statements (Open, Option, Declare, Property, Name, Error...).
CONTEXTUAL_KEYWORDS = """
Access Alias Append Base Binary Compare Database Error Explicit Lib Line Module Name Output
Property PtrSafe Random Read Reset Step Text Width
"""

VBA_RESERVED: frozenset[str] = frozenset(
    word.lower()
    for group in (STATEMENT_KEYWORDS, REM_KEYWORD, MARKER_KEYWORDS, OPERATOR_IDENTIFIERS,
                  RESERVED_NAMES, SPECIAL_FORMS, RESERVED_TYPE_IDENTIFIERS, LITERAL_IDENTIFIERS,
                  RESERVED_FOR_IMPLEMENTATION, FUTURE_RESERVED, CONTEXTUAL_KEYWORDS)
    for word in group.split()
)

# A VBA identifier: a letter, then letters, digits and underscores, at most 255 characters.
_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,254}")
# Excel reads these as references: A1 style (column letters up to XFD, then a row
# number) and R1C1 style, including bare R and C (row / column of the active cell).
_A1 = re.compile(r"\$?[A-Za-z]{1,3}\$?[0-9]+")
_R1C1 = re.compile(r"(?i)[RC]|R[0-9]*C[0-9]*|R[0-9]+|C[0-9]+")


def name_problems(name: str) -> list[str]:
    """Why ``name`` cannot be a VBA procedure or parameter name; empty when it can."""
    problems = []
    if not _IDENTIFIER.fullmatch(name):
        problems.append("not a VBA identifier")
    if name.lower() in VBA_RESERVED:
        problems.append("reserved in VBA")
    if _A1.fullmatch(name) or _R1C1.fullmatch(name):
        problems.append("reads as a cell reference in Excel")
    return problems


# -- the module Import Functions writes --------------------------------------------------------
_EXCEL_CONST = '#Const App = "Microsoft Excel"'
_IF_EXCEL = '#If App = "Microsoft Excel" Then'


def resolve_excel_branch(vba: str) -> str:
    """The module as Excel's VBA compiler sees it: ``#Const App`` set to Excel, each
    ``#If App = "Microsoft Excel"`` block reduced to its first branch.

    LibreOffice Basic has no conditional compilation, so this is done first. Any other
    directive is an error rather than a guess.
    """
    out: list[str] = []
    state = "plain"  # plain | excel (keep) | other (drop)
    for line in vba.splitlines():
        directive = line.split("'", 1)[0].strip()
        if directive.startswith(_EXCEL_CONST):
            continue
        if directive == _IF_EXCEL and state == "plain":
            state = "excel"
        elif directive == "#Else" and state == "excel":
            state = "other"
        elif directive == "#End If" and state in ("excel", "other"):
            state = "plain"
        elif directive.startswith("#"):
            raise ValueError(f"unexpected directive in the generated VBA: {line.strip()!r}")
        elif state != "other":
            out.append(line)
    if state != "plain":
        raise ValueError("unterminated #If block in the generated VBA")
    return "\n".join(out) + "\n"


_PROCEDURE = re.compile(
    r"^(?P<kind>Function|Sub) (?P<name>\w+)\((?P<params>[^)]*)\)$.*?^End (?P=kind)$",
    re.MULTILINE | re.DOTALL,
)


def procedures(vba: str) -> dict[str, tuple[list[str], str]]:
    """Procedure name -> (parameter names, its whole text), read from the VBA source."""
    found = {}
    for match in _PROCEDURE.finditer(vba):
        params = []
        for raw in filter(None, (p.strip() for p in match["params"].split(","))):
            words = raw.replace("()", "").split()
            params.append(words[-1])  # after Optional / ParamArray
        found[match["name"]] = (params, match.group(0))
    return found


def body_without_attributes(vba: str) -> str:
    """Drop ``Attribute VB_...`` header lines: they belong to the file format that the VBA
    editor's Import reads, not to the module's code."""
    return "\n".join(line for line in vba.splitlines()
                     if not line.startswith("Attribute VB_")) + "\n"
