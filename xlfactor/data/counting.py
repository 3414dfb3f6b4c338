"""Process-wide request counters: how many downloads a workbook really caused.

Benchmarks and tests read them to show, for example, that a cold workbook makes one
Yahoo download, not one per cell.
"""

from __future__ import annotations

import threading


class CallCounter:
    """A thread-safe count of calls since the process started or the last reset."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count = 0

    def add(self) -> None:
        """Count one call."""
        with self._lock:
            self._count += 1

    def value(self) -> int:
        """Calls counted so far."""
        with self._lock:
            return self._count

    def reset(self) -> None:
        """Start counting from zero again."""
        with self._lock:
            self._count = 0
