"""The template workbook's builder, one concern per module; ``workbook/generate.py`` runs it.

``formats``
    Number formats and the workbook's cell styles.
``writing``
    Small helpers for writing cells, names, spilled formulas and buttons.
``formulas``
    The FACTOR_* formulas the result sheets spill.
``xlwings_setup``
    The embedded VBA project, the macro names and the ``xlwings.conf`` sheet.
``guide_sheet``, ``inputs_sheet``, ``result_sheets``, ``analysis_sheet``, ``regress_sheet``
    One builder per sheet (the result sheets share a header and a table block).
``book``
    The whole workbook: properties, VBA project and the sheets in order.
"""
