"""A daemon thread that repeats one action: the service's periodic work off the request path."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class Repeating:
    """Calls ``action`` every ``interval_s`` seconds until :meth:`stop`; an exception is logged
    and the next call goes ahead (a failing store or file never ends the thread)."""

    def __init__(self, action: Callable[[], object], interval_s: float, name: str) -> None:
        self._action = action
        self._interval = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop repeating and wait up to ``timeout_s`` for a call under way to end."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._action()
            except Exception:
                log.exception(
                    "%s failed; trying again in %.1f s", self._thread.name, self._interval
                )
