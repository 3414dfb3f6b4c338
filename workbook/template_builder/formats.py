"""Number formats and the workbook's cell styles.

Row and column specs from :mod:`xlfactor.excel.tables` say what kind of value a table
holds; :data:`KIND_FORMATS` is where the template decides how each kind looks.
"""

from __future__ import annotations

from typing import Any

from xlsxwriter.format import Format
from xlsxwriter.workbook import Workbook

from xlfactor.excel.tables import ValueKind

# Dates are ISO so they read the same in every locale.
FMT_DATE = "yyyy-mm-dd"
FMT_MONTH = "yyyy-mm"
FMT_STAMP = 'yyyy-mm-dd hh:mm;;"never"'
FMT_ALPHA = "0.000%"
FMT_PCT = "0.00%"
FMT_PCT1 = "0.0%"
FMT_BETA = "0.000"
FMT_T = "0.00"
FMT_P = "0.000"
FMT_4 = "0.0000"
FMT_1 = "0.0"
FMT_INT = "0"
FMT_TINY = "0.0E+00"

#: Number format of each kind of value; text has none.
KIND_FORMATS: dict[ValueKind, str | None] = {
    ValueKind.ESTIMATE: FMT_4,
    ValueKind.FRACTION: FMT_BETA,
    ValueKind.STATISTIC: FMT_T,
    ValueKind.PROBABILITY: FMT_P,
    ValueKind.COUNT: FMT_INT,
    ValueKind.RATE: FMT_PCT,
    ValueKind.SHARE: FMT_PCT1,
    ValueKind.CRITERION: FMT_1,
    ValueKind.TEXT: None,
}


def kind_format(kind: ValueKind) -> str | None:
    """The number format for values of ``kind`` (None: text, no number format).

    Raises
    ------
    KeyError
        For a kind added to :class:`~xlfactor.excel.tables.ValueKind` without a format
        here: generation stops rather than leave the values unformatted.
    """
    return KIND_FORMATS[kind]


class Styles:
    """The workbook's cell formats, created once (XlsxWriter formats belong to a workbook)."""

    def __init__(self, wb: Workbook) -> None:
        base = {"font_name": "Calibri", "font_size": 11}

        def fmt(**props: Any) -> Format:
            return wb.add_format({**base, **props})

        self.title = fmt(bold=True, font_size=16, font_color="#1F4E79")
        self.subtitle = fmt(italic=True, font_color="#595959")
        self.section = fmt(bold=True, font_color="#1F4E79", bottom=1, bottom_color="#1F4E79")
        self.header = fmt(bold=True, bg_color="#DDEBF7", bottom=1, align="center",
                          valign="vcenter", text_wrap=True)
        self.header_left = fmt(bold=True, bg_color="#DDEBF7", bottom=1)
        self.label = fmt(bold=True)
        self.label_mid = fmt(bold=True, valign="vcenter")
        self.context_label = fmt(font_color="#595959", align="right")
        self.context_value = fmt(bold=True, align="left")
        self.context_date = fmt(bold=True, align="left", num_format=f'{FMT_DATE};;"default"')
        self.context_stamp = fmt(bold=True, align="left", num_format=FMT_STAMP)
        self.note = fmt(font_color="#595959")
        self.note_wrap = fmt(font_color="#595959", text_wrap=True, valign="top")
        # Notes right after a right-aligned number (the Inputs weights) need a gap.
        self.note_indent = fmt(font_color="#595959", indent=1)
        self.text = fmt()
        self.text_wrap = fmt(text_wrap=True, valign="top")
        self.step = fmt(bold=True, font_color="#1F4E79", align="right", valign="top")
        self.name = fmt(font_color="#808080", italic=True)
        self.name_mid = fmt(font_color="#808080", italic=True, valign="vcenter")
        self.code = fmt(font_name="Consolas", font_color="#404040")
        input_box = {"bg_color": "#FFF2CC", "border": 1, "border_color": "#BFBFBF"}
        self.input = fmt(**input_box)
        self.input_date = fmt(**input_box, num_format=FMT_DATE, align="left")
        self.input_int = fmt(**input_box, num_format=FMT_INT, align="left")
        self.input_pct = fmt(**input_box, num_format=FMT_PCT1)
        self.total_label = fmt(bold=True, align="right")
        self.total_pct = fmt(bold=True, num_format=FMT_PCT1, top=1, top_color="#BFBFBF")
        stamp_box = {"bg_color": "#F2F2F2", "border": 1, "border_color": "#BFBFBF"}
        self.stamp = fmt(**stamp_box, num_format=FMT_STAMP, align="left", valign="vcenter")
        self.stamp_text = fmt(**stamp_box, text_wrap=True, valign="vcenter")
        self.conf_key = fmt(bold=True, bg_color="#E2EFDA", border=1, border_color="#BFBFBF")
        self.conf_value = fmt(bg_color="#E2EFDA", border=1, border_color="#BFBFBF")
        self.conf_parked = fmt(font_color="#808080", border=1, border_color="#D9D9D9")
        self.date = fmt(num_format=FMT_DATE, align="left")
        self.month = fmt(num_format=FMT_MONTH, align="left")
        self.ticker = fmt(bold=True)
        self.nums = {code: fmt(num_format=code) for code in
                     (FMT_ALPHA, FMT_PCT, FMT_PCT1, FMT_BETA, FMT_T, FMT_P, FMT_4, FMT_1,
                      FMT_INT, FMT_TINY)}

    def num(self, code: str) -> Format:
        """The plain style with number format ``code`` (one of the ``FMT_*`` above)."""
        return self.nums[code]

    def value(self, kind: ValueKind) -> Format:
        """The style for a value of ``kind``: its number format, or plain text."""
        code = kind_format(kind)
        return self.text if code is None else self.num(code)
