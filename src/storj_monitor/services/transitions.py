"""Log a repeating failure on its transitions: once (with the traceback) when it starts, once
when it recovers, and every repeat in between at DEBUG — the house rule for loops that tick.
"""

from __future__ import annotations

import logging


class FailureLog:
    """One failing thing (a loop, a handler, a writer). Not thread-safe: one owner each."""

    def __init__(self, logger: logging.Logger, what: str) -> None:
        self.logger = logger
        self.what = what
        self.failing = False
        self.failures = 0

    def failed(self, exc: BaseException, detail: str = "") -> None:
        self.failures += 1
        text = f"{self.what} failed{': ' + detail if detail else ''}"
        if self.failing:
            self.logger.debug("%s (again): %r", text, exc)
        else:
            self.logger.error("%s", text, exc_info=exc)
        self.failing = True

    def ok(self) -> None:
        if self.failing:
            self.logger.info("%s recovered", self.what)
        self.failing = False
