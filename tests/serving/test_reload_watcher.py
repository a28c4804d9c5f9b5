"""The reload watcher: a worker that fails to follow a reload signal tries again instead of
marking the signal seen and serving the old champions until the next poll."""

from __future__ import annotations

import time

from serving.champions import RefreshResult, ReloadWatcher


class _Holder:
    """Fails its first ``fails`` refreshes the way ModelHolder reports a registry problem."""

    def __init__(self, fails: int) -> None:
        self.fails = fails
        self.calls = 0

    def refresh(self) -> RefreshResult:
        self.calls += 1
        if self.calls <= self.fails:
            return RefreshResult(False, None, "the model registry cannot be read", "registry")
        return RefreshResult(True, None, None)


def _wait(predicate, seconds: float = 3.0) -> bool:
    deadline = time.monotonic() + seconds
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.01)
    return predicate()


def test_a_failed_refresh_is_retried_until_it_succeeds_then_not_again():
    generation = [1]
    holder = _Holder(fails=2)
    watcher = ReloadWatcher(holder, lambda: generation[0], interval_s=0.02)  # type: ignore[arg-type]
    watcher.start()
    try:
        time.sleep(0.1)
        assert holder.calls == 0  # nothing signalled yet
        generation[0] = 2
        assert _wait(lambda: holder.calls >= 3)
        time.sleep(0.1)
        assert holder.calls == 3  # two failures, one success, then quiet
    finally:
        watcher.stop()


def test_an_unreadable_generation_changes_nothing():
    holder = _Holder(fails=0)

    def broken() -> int:
        raise OSError("store down")

    watcher = ReloadWatcher(holder, broken, interval_s=0.02)  # type: ignore[arg-type]
    watcher.start()
    try:
        time.sleep(0.15)
        assert holder.calls == 0
    finally:
        watcher.stop()
