"""Wall time of the named steps of a command, for ``--verbose`` logs and benchmarks."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

log = logging.getLogger(__name__)


@dataclass
class Phases:
    """Wall time of each step of a command, in order; each timed step is logged at INFO as it
    ends (``--verbose`` prints them), so a slow run says where its time went."""

    seconds: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def timed(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start
            log.info("%s took %.2f s", name, self.seconds[name])

    def table(self) -> str:
        """One line per step and the total, for logs and benchmarks."""
        lines = [f"{name:<14}{sec:>8.2f} s" for name, sec in self.seconds.items()]
        return "\n".join([*lines, f"{'total':<14}{sum(self.seconds.values()):>8.2f} s"])
