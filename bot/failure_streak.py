"""One log line when a background loop starts failing and one when it works again, instead of one per retry.

During a database outage the ticker, the sender's claims and its state writes all retry; logging a traceback on
every retry buried the one line that mattered under thousands a second.
"""

import logging


class FailureStreak:
    def __init__(self, log: logging.Logger, what: str) -> None:
        self.log, self.what = log, what
        self.failures = 0

    def failed(self) -> None:
        """Call from an except block: the first failure of a streak is logged with its traceback, the rest quietly."""
        self.failures += 1
        if self.failures == 1:
            self.log.exception("%s failed; retrying, and quiet until it works again", self.what)
        else:
            self.log.debug("%s failed again (%d in a row)", self.what, self.failures, exc_info=True)

    def succeeded(self) -> None:
        if self.failures:
            self.log.warning("%s works again after %d failed attempts", self.what, self.failures)
            self.failures = 0

    def delay(self, base: float, longest: float) -> float:
        """How long to wait before the next attempt: `base`, doubling with each failure in a row, at most `longest`."""
        return min(base * 2 ** max(self.failures - 1, 0), longest) if self.failures else base
