"""Exception hierarchy.

Every error xlfactor raises on purpose derives from :class:`XlFactorError`, so callers
(the Excel layer, the CLI) can turn it into a short message without a traceback. Each
subclass also carries an Excel-style error ``code`` used when the message lands in a cell.
"""

from __future__ import annotations


class XlFactorError(Exception):
    """Base class of all deliberate xlfactor errors."""

    code = "#VALUE!"

    def cell_message(self) -> str:
        """Short text for an Excel cell, e.g. ``#N/A unknown ticker 'ZZZZ'``."""
        return f"{self.code} {self}"


class InvalidInputError(XlFactorError, ValueError):
    """An argument is malformed: a bad date, frequency, lag count, range shape..."""


class UnknownModelError(InvalidInputError):
    """A model or factor name that xlfactor does not know."""


class UnknownTickerError(XlFactorError, LookupError):
    """The price source has no data at all for a ticker."""

    code = "#N/A"


class DataUnavailableError(XlFactorError):
    """A source could not deliver data (network fault, bad file) and nothing usable is cached."""

    code = "#N/A"


class NotPublishedError(DataUnavailableError):
    """The source does not publish this data at all (e.g. FF5 factors weekly)."""


class FileMissingError(DataUnavailableError):
    """A folder of files saved by hand lacks the file for this data."""


class DataFormatError(DataUnavailableError):
    """A downloaded or local file does not have the layout xlfactor expects."""


class InsufficientDataError(XlFactorError):
    """Too few aligned observations for the requested estimate."""

    code = "#N/A"


class CollinearityError(XlFactorError):
    """The regressors are perfectly (or numerically) collinear."""

    code = "#NUM!"


class CacheError(XlFactorError):
    """The local cache could not be read or written (data could not be had: ``#N/A``)."""

    code = "#N/A"


def shorten(text: str, limit: int = 120) -> str:
    """``text`` cut to ``limit`` characters (ending in ``...``), for a message or a cell."""
    return text if len(text) <= limit else text[: limit - 3] + "..."
