"""Every numeric setting is checked, from the environment and in code, with a clear message."""

from __future__ import annotations

import subprocess
import sys

import pytest

from xlfactor.data.settings import LIMITS, Settings
from xlfactor.domain.errors import InvalidInputError

BAD_VALUES = ["nan", "NaN", "inf", "-inf", "-1", "0", "1e308", "1e400", "abc", "4 s", "0x10"]


@pytest.mark.parametrize("name", sorted(LIMITS))
@pytest.mark.parametrize("text", BAD_VALUES)
def test_every_numeric_variable_refuses_bad_values(monkeypatch, name: str, text: str) -> None:
    limit = LIMITS[name]
    monkeypatch.setenv(limit.env, text)
    with pytest.raises(InvalidInputError) as info:
        Settings.from_env()
    message = str(info.value)
    assert message.startswith(f"{limit.env} must be a number of {limit.unit} greater than 0")
    assert f"at most {limit.upper:g}" in message and repr(text) in message


@pytest.mark.parametrize("name", sorted(LIMITS))
def test_the_upper_bound_itself_is_accepted_and_blank_means_default(monkeypatch, name: str
                                                                    ) -> None:
    limit = LIMITS[name]
    monkeypatch.setenv(limit.env, "   ")
    default = getattr(Settings(), name)
    assert getattr(Settings.from_env(), name) == default
    monkeypatch.setenv(limit.env, f"{limit.upper:.17g}")
    value = getattr(Settings.from_env(), name)
    assert value == (int(limit.upper * (1 << 20)) if limit.unit == "MB" else limit.upper)


@pytest.mark.parametrize("name", sorted(LIMITS))
@pytest.mark.parametrize("value", [float("nan"), float("inf"), -1.0, 0, 1e308, "x", None])
def test_settings_made_in_code_are_checked_too(name: str, value: object) -> None:
    with pytest.raises(InvalidInputError, match=f"Settings.{name}"):
        Settings(**{name: value})


def test_megabyte_settings_are_held_in_bytes(monkeypatch) -> None:
    monkeypatch.setenv("XLFACTOR_CHART_MAX_MB", "0.25")
    assert Settings.from_env().chart_max_bytes == 262144


def test_a_huge_wait_on_the_command_line_is_one_line_not_a_traceback(tmp_path) -> None:
    env = {"XLFACTOR_NET_WAIT": "1e308", "XLFACTOR_CACHE_DIR": str(tmp_path),
           "XLFACTOR_SOURCE": "", "PATH": "/usr/bin:/bin"}
    run = subprocess.run([sys.executable, "-m", "xlfactor.cli", "betas", "AAPL", "--offline"],
                         capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr and "OverflowError" not in run.stderr
    assert "XLFACTOR_NET_WAIT must be a number of seconds" in run.stderr


@pytest.mark.parametrize(("bad", "what"), [({"transfer_wait": 1e308}, "transfer_wait"),
                                           ({"transfer_wait": float("nan")}, "transfer_wait"),
                                           ({"max_bytes": -1}, "max_bytes"),
                                           ({"max_bytes": 1.5}, "max_bytes"),
                                           ({"max_bytes": 1 << 60}, "max_bytes")])
def test_download_bounds_given_in_code_are_checked(bad: dict, what: str) -> None:
    from xlfactor.data.http import fetch_bytes
    from xlfactor.data.yahoo import YahooPrices

    with pytest.raises(InvalidInputError, match=what):
        fetch_bytes("http://127.0.0.1:9/never-asked", source="test", **bad)
    yahoo_bad = {"download_wait" if k == "transfer_wait" else k: v for k, v in bad.items()}
    with pytest.raises(InvalidInputError):
        YahooPrices(**yahoo_bad)


@pytest.mark.parametrize("variable", ["XLFACTOR_FRENCH_MAX_MB", "XLFACTOR_CHART_MAX_MB"])
@pytest.mark.parametrize("text", ["1e-7", "0.0000009"])
def test_a_megabyte_cap_below_one_byte_is_refused_by_its_name(monkeypatch, variable: str,
                                                              text: str) -> None:
    monkeypatch.setenv(variable, text)
    with pytest.raises(InvalidInputError) as info:
        Settings.from_env()
    assert str(info.value) == f"{variable} must be at least 1 byte (9.54e-07 MB), got {text!r}"


@pytest.mark.parametrize("name", ["french_max_bytes", "chart_max_bytes"])
def test_a_byte_cap_in_code_below_one_byte_is_refused(name: str) -> None:
    with pytest.raises(InvalidInputError, match=f"Settings.{name} .in MB. must be at least 1 "
                                                "byte"):
        Settings(**{name: 0.5})
    assert getattr(Settings(**{name: 1}), name) == 1  # one byte is a cap
    assert getattr(Settings(**{name: 2.9}), name) == 2  # rounded down to whole bytes
