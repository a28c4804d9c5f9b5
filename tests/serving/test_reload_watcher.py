"""The reload watcher: a worker that fails to follow a reload signal tries again instead of
marking the signal seen and serving the old champions until the next poll."""

from __future__ import annotations

from scoring.champions import RefreshResult, ReloadWatcher


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


def test_a_failed_refresh_is_retried_until_it_succeeds_then_not_again():
    generation = [1]
    holder = _Holder(fails=2)
    watcher = ReloadWatcher(holder, lambda: generation[0])  # type: ignore[arg-type]
    watcher.check()
    assert holder.calls == 0  # nothing signalled yet
    generation[0] = 2
    for _ in range(5):
        watcher.check()
    assert holder.calls == 3  # two failures, one success, then quiet


def test_a_signal_this_worker_sent_and_an_unreadable_store_change_nothing():
    generation = [1]
    holder = _Holder(fails=0)
    watcher = ReloadWatcher(holder, lambda: generation[0])  # type: ignore[arg-type]
    generation[0] = 2
    watcher.seen(2)  # this worker answered the POST /reload itself
    watcher.check()
    assert holder.calls == 0

    def broken() -> int:
        raise OSError("store down")

    down = ReloadWatcher(holder, broken)  # type: ignore[arg-type]
    down.check()
    assert holder.calls == 0
