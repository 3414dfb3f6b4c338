"""xlfactor.excel.refresh, driven through a small fake of the xlwings object model.

The fake book is built from the committed template's defined names, so the names the
refresh code reads are the ones the workbook really has. Data come from the offline
sample (``XLFACTOR_SOURCE=sample``: monthly, 1949-2017).
"""

from __future__ import annotations

import importlib.util
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from matplotlib.figure import Figure

from xlfactor.domain.errors import DataUnavailableError
from xlfactor.excel import refresh

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "workbook" / "xlfactor_template.xlsm"
CLOCK = datetime(2024, 5, 6, 7, 8, 9)


# -- the fake ----------------------------------------------------------------------------------
class FakePictures:
    def __init__(self, sheet: FakeSheet) -> None:
        self.sheet = sheet
        self.added: list[dict[str, Any]] = []

    def add(self, image: Any, **kwargs: Any) -> str:
        # What xlwings needs to read: a figure, or a PNG file that exists right now.
        if isinstance(image, Figure):
            kind = "figure"
        else:
            path = Path(image)
            assert path.is_file() and path.read_bytes()[:4] == b"\x89PNG"
            kind = "png file"
        self.added.append({"image": image, "kind": kind, **kwargs})
        self.sheet.book.log.append(("picture", kwargs.get("name")))
        return kwargs.get("name", "Picture 1")


class FakeSheet:
    def __init__(self, book: FakeBook, name: str) -> None:
        self.book = book
        self.name = name
        self.pictures = FakePictures(self)


class FakeRange:
    def __init__(self, book: FakeBook, sheet: FakeSheet, address: str, value: Any = None) -> None:
        self.book = book
        self.sheet = sheet
        self.address = address
        self._value = value
        self.formula_writes: list[str] = []

    @property
    def value(self) -> Any:
        return self._value

    @value.setter
    def value(self, new: Any) -> None:
        self.book.log.append(("value", self.address))
        self._value = new

    @property
    def formula2(self) -> Any:
        return self._value

    @formula2.setter
    def formula2(self, formula: Any) -> None:
        self.book.log.append(("formula2", self.address))
        self.formula_writes.append(formula)
        self._value = formula


class FakeName:
    def __init__(self, name: str, rng: FakeRange) -> None:
        self.name = name
        self.refers_to_range = rng


class FakeNames:
    def __init__(self) -> None:
        self.items: dict[str, FakeName] = {}

    def __getitem__(self, key: str) -> FakeName:
        return self.items[key]

    def __iter__(self):
        return iter(list(self.items.values()))


class FakeApp:
    """Records every status-bar text; ``fail_calculate`` makes calculate() raise."""

    def __init__(self, book: FakeBook, status: str | bool = False) -> None:
        self.book = book
        self._status: str | bool = status
        self.status_history: list[str | bool] = []
        self.calculations = 0
        self.fail_calculate: Exception | None = None
        self.fail_status_bar = False

    @property
    def status_bar(self) -> str | bool:
        return self._status

    @status_bar.setter
    def status_bar(self, value: str | bool) -> None:
        if self.fail_status_bar:
            raise RuntimeError("status bar unavailable")
        self.status_history.append(value)
        self._status = value

    def calculate(self) -> None:
        self.book.log.append(("calculate", None))
        if self.fail_calculate is not None:
            raise self.fail_calculate
        self.calculations += 1


class FakeBook:
    def __init__(self) -> None:
        self.log: list[tuple[str, Any]] = []
        self.sheets: dict[str, FakeSheet] = {}
        self.names = FakeNames()
        self.app = FakeApp(self)

    def add_name(self, name: str, sheet: str, address: str, value: Any) -> FakeRange:
        sh = self.sheets.setdefault(sheet, FakeSheet(self, sheet))
        rng = FakeRange(self, sh, address, value)
        self.names.items[name] = FakeName(name, rng)
        return rng

    def value(self, name: str) -> Any:
        return self.names[name].refers_to_range.value


INPUTS = {
    refresh.NAME_TICKERS: ["NoDur", "Hlth", *[None] * 8],
    refresh.NAME_MODEL: "FF3",
    refresh.NAME_START: datetime(2010, 1, 1),
    refresh.NAME_END: datetime(2016, 12, 31),
    refresh.NAME_FREQ: "M",
    refresh.NAME_SE: "HC1",
    refresh.NAME_LAGS: None,
    refresh.NAME_WINDOW: 24.0,  # Excel hands numbers over as floats
    refresh.NAME_REGION: "US",
    # What Excel shows for the template's equal-weight formulas with two tickers.
    refresh.NAME_WEIGHTS: [0.5, 0.5, *[""] * 8],
    refresh.NAME_REBALANCE: "daily",
}


@pytest.fixture(scope="module")
def template_names() -> dict[str, tuple[str, str, Any]]:
    """Defined name -> (sheet, address, initial formula or value) from the committed file."""
    from openpyxl import load_workbook
    from openpyxl.worksheet.formula import ArrayFormula

    wb = load_workbook(TEMPLATE)
    out = {}
    for name, defined in wb.defined_names.items():
        sheet, address = next(iter(defined.destinations))
        first = wb[sheet][address.replace("$", "").split(":")[0]].value
        if isinstance(first, ArrayFormula):
            first = first.text
        out[name] = (sheet, address, first)
    return out


@pytest.fixture()
def book(template_names, monkeypatch, tmp_path) -> FakeBook:
    monkeypatch.setenv("XLFACTOR_SOURCE", "sample")
    monkeypatch.setenv("XLFACTOR_CACHE_DIR", str(tmp_path / "cache"))
    fake = FakeBook()
    for name, (sheet, address, initial) in template_names.items():
        fake.add_name(name, sheet, address, INPUTS.get(name, initial))
    fake.log.clear()
    return fake


def run(book: FakeBook) -> refresh.Outcome:
    return refresh.refresh(book, clock=lambda: CLOCK)


# -- success -------------------------------------------------------------------------------------
def test_success_stamps_the_workbook(book):
    outcome = run(book)
    assert outcome.ok, outcome.message
    assert book.value(refresh.NAME_LAST_REFRESHED) == CLOCK
    assert book.value(refresh.NAME_RELEASE) == "as bundled with linearmodels"
    assert "linearmodels" in book.value(refresh.NAME_SOURCES)
    status = book.value(refresh.NAME_STATUS)
    assert status == outcome.message
    assert status.startswith("OK: 2 tickers, FF3, monthly, 2010-01-31 to 2016-12-31")
    assert "Not computed" not in status and outcome.complete


def test_status_bar_shows_progress_and_is_handed_back(book):
    run(book)
    texts = [t for t in book.app.status_history if isinstance(t, str)]
    assert texts[0] == "xlfactor refresh 1/4: reading the inputs..."
    assert "xlfactor refresh 2/4: loading data: factors (FF3)..." in texts
    assert any(t.startswith("xlfactor refresh 4/4: drawing charts: rolling betas") for t in texts)
    # False gives the status bar back to Excel, which is what it had before.
    assert book.app.status_history[-1] is False
    assert book.app.status_bar is False


def test_previous_status_text_is_restored(book):
    book.app._status = "Ready for the meeting"
    run(book)
    assert book.app.status_bar == "Ready for the meeting"


def test_every_udf_formula_is_reentered_then_excel_recalculates(book, template_names):
    run(book)
    outputs = [n for n in template_names if n.startswith(refresh.OUTPUT_PREFIX)]
    assert len(outputs) >= 8
    for name in outputs:
        rng = book.names[name].refers_to_range
        assert len(rng.formula_writes) == 1
        # Re-entered unchanged, as the dynamic-array formula it was.
        assert rng.formula_writes[0] == template_names[name][2]
        assert rng.formula_writes[0].startswith("=FACTOR_")
    assert book.app.calculations == 1
    kinds = [k for k, _ in book.log]
    # Data first (so the UDF process reads a warm cache), formulas before the recalculation,
    # charts after it, stamps last.
    assert kinds.index("calculate") > max(i for i, k in enumerate(kinds) if k == "formula2")
    assert kinds.index("picture") > kinds.index("calculate")
    assert kinds[-4:] == ["value"] * 4


def test_charts_are_added_with_update_at_their_anchors(book):
    run(book)
    added = {}
    for sheet in book.sheets.values():
        for call in sheet.pictures.added:
            added[call["name"]] = (sheet.name, call)
    assert set(added) == {s.picture for s in refresh.CHART_SPOTS}
    for spot in refresh.CHART_SPOTS:
        sheet, call = added[spot.picture]
        anchor = book.names[spot.anchor].refers_to_range
        assert call["update"] is True
        assert call["anchor"] is anchor and sheet == anchor.sheet.name
    assert added[refresh.CHART_EXPOSURES.picture][1]["kind"] == "png file"
    assert added[refresh.CHART_ROLLING.picture][0] == "Rolling"
    assert added[refresh.CHART_FACTORS.picture][0] == "Factors"
    assert added[refresh.CHART_ATTRIBUTION.picture][0] == "Analysis"
    assert added[refresh.CHART_ATTRIBUTION.picture][1]["kind"] == "figure"


def test_charts_say_what_they_show(book):
    run(book)
    pictures = {c["name"]: c["image"] for s in book.sheets.values() for c in s.pictures.added}
    rolling = pictures[refresh.CHART_ROLLING.picture]
    title = rolling._suptitle.get_text()
    assert "NODUR" in title and "FF3" in title and "24-month" in title and "2 SE" in title
    footer = " ".join(t.get_text() for t in rolling.texts)
    assert "White HC1" in footer and "release as bundled with linearmodels" in footer
    assert "window ends 2011-12-31 to 2016-12-31" in footer
    panels = [ax.get_title() for ax in rolling.axes if ax.get_visible()]
    assert panels[0].startswith("Alpha, annualised (x12)") and "% per year" in panels[0]
    assert len(panels) == 4
    factors = pictures[refresh.CHART_FACTORS.picture]
    ax = factors.axes[0]
    assert "FF3" in ax.get_title() and "2010-01-31 to 2016-12-31" in ax.get_title()
    assert "(%)" in ax.get_ylabel()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert [lab.split(" ")[0] for lab in labels] == ["MKT", "SMB", "HML", "RF"]
    attribution = pictures[refresh.CHART_ATTRIBUTION.picture]
    title = attribution._suptitle.get_text()
    assert title.startswith("NODUR: return attribution, FF3") and "2010-01-31 to 2016-12-31" in title
    waterfall = attribution.axes[0]
    assert [t.get_text() for t in waterfall.get_xticklabels()] == [
        "alpha", "MKT", "SMB", "HML", "residual", "total"]


# -- failures ------------------------------------------------------------------------------------
def test_data_failure_is_written_and_status_bar_restored(book, monkeypatch):
    from xlfactor import api

    def unreachable(*args, **kwargs):
        raise DataUnavailableError("Kenneth French library unreachable after 3 attempts")

    monkeypatch.setattr(api, "fit", unreachable)
    book.app._status = False
    outcome = run(book)
    assert not outcome.ok
    assert book.value(refresh.NAME_STATUS) == (
        "Refresh failed while loading data: Kenneth French library unreachable after 3 attempts")
    assert book.app.status_bar is False and book.app.status_history[-1] is False
    assert book.value(refresh.NAME_LAST_REFRESHED) is None  # nothing was refreshed
    assert not [k for k, _ in book.log if k in ("picture", "formula2", "calculate")]


def test_excel_failure_is_written_and_status_bar_restored(book):
    book.app.fail_calculate = RuntimeError("(-2147352567, 'Exception occurred.')")
    book.app._status = "before"
    outcome = run(book)
    assert not outcome.ok
    message = book.value(refresh.NAME_STATUS)
    assert message.startswith("Refresh failed while recalculating the FACTOR_* formulas: ")
    assert "RuntimeError" in message and "Traceback" not in message
    assert book.app.status_bar == "before"


def test_bad_inputs_are_reported_in_words(book):
    book.names[refresh.NAME_TICKERS].refers_to_range._value = [None] * 10
    outcome = run(book)
    assert not outcome.ok
    assert book.value(refresh.NAME_STATUS).startswith("Refresh failed while reading the inputs: ")
    book.names[refresh.NAME_TICKERS].refers_to_range._value = ["NoDur"]
    book.names[refresh.NAME_FREQ].refers_to_range._value = "Q"
    assert not run(book).ok
    assert "loading data" in book.value(refresh.NAME_STATUS)
    assert "Q" in book.value(refresh.NAME_STATUS)


def test_a_chart_that_cannot_be_drawn_is_a_warning(book):
    # 500 months is longer than the sample period: no rolling window fits.
    book.names[refresh.NAME_WINDOW].refers_to_range._value = 500
    outcome = run(book)
    assert outcome.ok
    status = book.value(refresh.NAME_STATUS)
    assert status.startswith("INCOMPLETE: 2 tickers") and not outcome.complete
    assert "Not computed: rolling betas of NODUR chart not drawn: " in status
    drawn = {c["name"] for s in book.sheets.values() for c in s.pictures.added}
    assert drawn == {refresh.CHART_EXPOSURES.picture, refresh.CHART_FACTORS.picture,
                     refresh.CHART_ATTRIBUTION.picture}


def test_unknown_ticker_among_good_ones_is_a_warning(book):
    book.names[refresh.NAME_TICKERS].refers_to_range._value = ["NoDur", "NOPE"]
    outcome = run(book)
    assert outcome.ok
    status = book.value(refresh.NAME_STATUS)
    assert status.startswith("INCOMPLETE: 1 of 2 tickers, FF3, monthly")
    assert "NOPE not estimated" in status and not outcome.complete


def test_a_broken_status_bar_does_not_stop_the_refresh(book):
    book.app.fail_status_bar = True
    assert run(book).ok


def test_text_written_to_cells_is_neutralised(book, monkeypatch):
    monkeypatch.setattr(refresh, "_release_text", lambda info: '=HYPERLINK("http://x","y")')
    assert run(book).ok
    assert book.value(refresh.NAME_RELEASE) == "'=HYPERLINK(\"http://x\",\"y\")"
    for name in refresh.STAMP_NAMES:
        value = book.value(name)
        assert not (isinstance(value, str) and value.startswith(("=", "+", "-", "@")))


def test_failure_text_is_neutralised(book, monkeypatch):
    from xlfactor import api

    def hostile(*args, **kwargs):
        raise ValueError("=1+1")

    monkeypatch.setattr(api, "fit", hostile)
    monkeypatch.setattr(refresh, "failure_message", lambda step, err: str(err))
    run(book)
    assert book.value(refresh.NAME_STATUS) == "'=1+1"


# -- region, weights, rebalancing -------------------------------------------------------------
def test_region_reaches_every_fit_and_chart(book, monkeypatch):
    from xlfactor import analysis, api

    seen: dict[str, object] = {}

    def spy(module, name):
        real = getattr(module, name)

        def call(*args, **kwargs):
            seen[name] = kwargs.get("region", "not passed")
            return real(*args, **kwargs)

        monkeypatch.setattr(module, name, call)

    for module, name in ((api, "fit"), (api, "rolling"), (api, "factor_returns"),
                         (analysis, "attribution")):
        spy(module, name)
    # Any spelling the worksheet functions accept; the refresh passes the canonical name.
    book.names[refresh.NAME_REGION].refers_to_range._value = " usa "
    assert run(book).ok
    assert seen == {"fit": "US", "rolling": "US", "factor_returns": "US", "attribution": "US"}


def test_status_names_a_region_other_than_us():
    from types import SimpleNamespace

    from xlfactor.engine.results import EstimationInfo

    info = EstimationInfo(model="FF3", frequency="D", start=datetime(2021, 1, 4),
                          end=datetime(2023, 12, 29), region="Europe")
    line = refresh._success_line(SimpleNamespace(info=info, assets=["SAP"], failed={}), [])
    assert line == "OK: 1 ticker, FF3 (Europe), daily, 2021-01-04 to 2023-12-29"


def test_a_region_the_source_lacks_fails_while_loading_data(book):
    book.names[refresh.NAME_REGION].refers_to_range._value = "Europe"
    outcome = run(book)
    assert not outcome.ok
    assert book.value(refresh.NAME_STATUS) == (
        "Refresh failed while loading data: the offline sample has US factors only")


def test_an_unknown_region_fails_while_reading_the_inputs(book):
    book.names[refresh.NAME_REGION].refers_to_range._value = "Mars"
    assert not run(book).ok
    status = book.value(refresh.NAME_STATUS)
    assert status.startswith("Refresh failed while reading the inputs: unknown region 'Mars'")
    assert "Asia Pacific ex Japan" in status


def test_blank_region_means_us(book):
    book.names[refresh.NAME_REGION].refers_to_range._value = None
    assert run(book).ok
    assert refresh.read_inputs(book).region == "US"


def test_comparison_models_are_fetched_and_missing_ones_do_not_fail(book):
    outcome = run(book)
    assert outcome.complete and outcome.message.startswith("OK: ")
    texts = [t for t in book.app.status_history if isinstance(t, str)]
    assert "xlfactor refresh 2/4: loading data: factors for the model comparison..." in texts


@pytest.mark.parametrize(("weights", "rebalance", "reason"), [
    ([0.5, 0.4, None], "daily", "weights sum to 0.9; they must sum to 1 (or 100%)"),
    ([0.5, 0.25, 0.25], "daily", "3 weights for 2 tickers"),
    ([0.5, "half"], "daily", "weights must be numbers"),
    ([0.5, 0.5], "monthly", "unknown rebalancing 'monthly'"),
])
def test_portfolio_problems_are_warnings(book, weights, rebalance, reason):
    book.names[refresh.NAME_WEIGHTS].refers_to_range._value = weights
    book.names[refresh.NAME_REBALANCE].refers_to_range._value = rebalance
    outcome = run(book)
    assert outcome.ok and not outcome.complete
    status = book.value(refresh.NAME_STATUS)
    assert status.startswith("INCOMPLETE: ")
    assert f"Not computed: portfolio not computed ({reason}" in status


@pytest.mark.parametrize("weights", [[50, 50], [0.5, 0.5], [0.3, "", 0.7]])
def test_valid_weights_give_no_warning(book, weights):
    book.names[refresh.NAME_WEIGHTS].refers_to_range._value = weights
    book.names[refresh.NAME_TICKERS].refers_to_range._value = (
        ["NoDur", "Hlth"] if len(weights) == 2 else ["NoDur", None, "Hlth"])
    book.names[refresh.NAME_REBALANCE].refers_to_range._value = "buy_and_hold"
    outcome = run(book)
    assert outcome.complete and outcome.message.startswith("OK: "), outcome.message


def test_a_workbook_from_before_the_analysis_sheet_still_refreshes(book):
    for name in (*refresh.OPTIONAL_INPUTS, refresh.CHART_ATTRIBUTION.anchor):
        del book.names.items[name]
    for name in [n for n in book.names.items if book.names[n].refers_to_range.sheet.name
                 == "Analysis"]:
        del book.names.items[name]
    outcome = run(book)
    assert outcome.complete and outcome.message.startswith("OK: "), outcome.message
    drawn = {c["name"] for s in book.sheets.values() for c in s.pictures.added}
    assert drawn == {refresh.CHART_EXPOSURES.picture, refresh.CHART_ROLLING.picture,
                     refresh.CHART_FACTORS.picture}
    # Nothing on the workbook needs the comparison's factor files.
    assert not [t for t in book.app.status_history
                if isinstance(t, str) and "model comparison" in t]


# -- entry points ----------------------------------------------------------------------------------
def test_main_refreshes_the_calling_book(book, monkeypatch):
    import xlwings

    monkeypatch.setattr(xlwings.Book, "caller", classmethod(lambda cls: book))
    refresh.main()
    assert book.value(refresh.NAME_STATUS).startswith("OK: ")


def test_workbook_module_delegates_to_refresh_main(monkeypatch):
    calls = []
    monkeypatch.setattr(refresh, "main", lambda: calls.append("refreshed"))
    shim = TEMPLATE.with_suffix(".py")
    spec = importlib.util.spec_from_file_location(TEMPLATE.stem, shim)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main()
    assert calls == ["refreshed"]


def test_formula_mode_status_names_the_tables_excel_shows_in_error(book):
    """After Excel's recalculation each Out_ anchor is read: a table that is one error
    message is named in the status cell, and the refresh is not complete."""
    portfolio = book.names["Out_Portfolio"].refers_to_range
    grs = book.names["Out_GRS"].refers_to_range

    stats = book.names["Out_Stats"].refers_to_range

    def calculate() -> None:
        portfolio._value = "#N/A unknown ticker 'JNJ'"
        grs._value = "#VALUE! GRS needs more periods than assets"
        stats._value = "#SPILL!"  # Excel's own error, as xlwings reads it with err_to_str

    book.app.calculate = calculate
    outcome = run(book)
    assert outcome.ok and not outcome.complete
    status = book.value(refresh.NAME_STATUS)
    assert status.startswith("INCOMPLETE: 2 tickers, FF3, monthly")
    assert "Not computed: tables failed: " in status
    assert "Portfolio (unknown ticker 'JNJ')" in status
    assert "GRS (GRS needs more periods than assets)" in status
    assert "Stats (#SPILL!)" in status


def test_an_input_name_that_is_not_a_range_is_bad_input(book):
    """xlwings raises a COM error for a name defined as a constant (=\"AAPL\")."""
    from xlfactor.domain.errors import InvalidInputError

    class ConstantName:
        name = refresh.NAME_TICKERS

        @property
        def refers_to_range(self):
            raise RuntimeError("(-2147352567, 'Exception occurred.')")

    book.names.items[refresh.NAME_TICKERS] = ConstantName()
    outcome = run(book)
    assert not outcome.ok and isinstance(outcome.error, InvalidInputError)
    assert book.value(refresh.NAME_STATUS).startswith(
        "Refresh failed while reading the inputs: the input Tickers is not a range of cells")
