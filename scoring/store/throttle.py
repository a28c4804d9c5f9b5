"""Failed sign-ins counted in the store (``ui_signin_failures``), so every worker of the service
throttles the same guesses and a restart forgets nothing.

Each failure counts against three keys: the account from the client's address, the address (over
all accounts) and the account (over all addresses), each with its own free failures
(:class:`~scoring.config.SignInConfig`). Past them a key waits ``first_delay_s``, doubling with
each further failure, then is locked ``lockout_s``; a failure while locked locks it again. A
success clears the account's keys (not the address's: one valid account must not reset an
address that guesses others). The account-wide key starts late, so guesses from one address
lock the account out from that address only, not its owner elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from scoring.config import SignInConfig
from scoring.store.migrate import upgrade
from scoring.store.schema import THROTTLE


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class Wait:
    """How long a sign-in must wait (0: not at all) and which key makes it wait."""

    seconds: float
    key: str = ""
    locked: bool = False
    until: datetime | None = None


class SignInThrottle:
    """Counts failed sign-ins and says how long the next one must wait."""

    def __init__(
        self, engine: sa.Engine, config: SignInConfig, clock: Callable[[], datetime] = _now
    ) -> None:
        self.engine = engine
        self.config = config
        self.clock = clock
        self._ready = False

    def _ensure(self) -> None:
        if not self._ready:
            upgrade(self.engine)
            self._ready = True

    def keys(self, name: str, client: str) -> list[tuple[str, int]]:
        """The keys a sign-in of ``name`` from ``client`` counts against, with their free
        failures."""
        c = self.config
        return [
            (f"account+address:{name}@{client}", c.free_failures),
            (f"address:{client}", c.address_free_failures),
            (f"account:{name}", c.account_free_failures),
        ]

    def delay(self, failures: int, free: int) -> tuple[float, bool]:
        """The wait after ``failures`` failures of a key with ``free`` free ones, and whether
        it is the lockout."""
        if failures < free:
            return 0.0, False
        step = failures - free
        if step < self.config.delays:
            return self.config.first_delay_s * 2.0**step, False
        return self.config.lockout_s, True

    def wait(self, name: str, client: str) -> Wait:
        """How long a sign-in of ``name`` from ``client`` must wait now (the longest of its
        keys)."""
        self._ensure()
        keys = [k for k, _ in self.keys(name, client)]
        now = self.clock()
        query = sa.select(THROTTLE.c.key, THROTTLE.c.blocked_until, THROTTLE.c.failures).where(
            THROTTLE.c.key.in_(keys), THROTTLE.c.blocked_until > now
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        if not rows:
            return Wait(0.0)
        top = max(rows, key=lambda r: r.blocked_until)
        key: str = top.key
        until: datetime = top.blocked_until
        failures: int = top.failures
        free = dict(self.keys(name, client))[key]
        locked = self.delay(failures, free)[1]
        return Wait((until - now).total_seconds(), key, locked, until)

    def failed(self, name: str, client: str) -> Wait:
        """Count a failed sign-in against its keys; the wait it earns the next one."""
        self._ensure()
        now = self.clock()
        forget = now - timedelta(seconds=self.config.forget_s)
        longest = Wait(0.0)
        for key, free in self.keys(name, client):
            failures = self._count(key, now, forget)
            seconds, locked = self.delay(failures, free)
            if seconds:
                until = now + timedelta(seconds=seconds)
                with self.engine.begin() as conn:
                    conn.execute(
                        THROTTLE.update().where(THROTTLE.c.key == key).values(blocked_until=until)
                    )
                if seconds > longest.seconds:
                    longest = Wait(seconds, key, locked)
        return longest

    def _count(self, key: str, now: datetime, forget: datetime) -> int:
        """Add one failure to ``key`` (its old ones forgotten when stale); the new count."""
        t = THROTTLE.c
        for _ in range(3):  # another worker may insert the same key at the same moment
            try:
                with self.engine.begin() as conn:
                    query = sa.select(t.failures, t.last_failure).where(t.key == key)
                    row = conn.execute(query).first()
                    if row is None:
                        conn.execute(
                            THROTTLE.insert().values(key=key, failures=1, last_failure=now)
                        )
                        return 1
                    failures = 1 if row.last_failure < forget else row.failures + 1
                    conn.execute(
                        THROTTLE.update()
                        .where(t.key == key)
                        .values(failures=failures, last_failure=now)
                    )
                    return failures
            except IntegrityError:
                continue
        return 1

    def succeeded(self, name: str, client: str) -> None:
        """Clear the account's keys after a successful sign-in."""
        self._ensure()
        keys = [k for k, _ in self.keys(name, client) if not k.startswith("address:")]
        with self.engine.begin() as conn:
            conn.execute(THROTTLE.delete().where(THROTTLE.c.key.in_(keys)))
