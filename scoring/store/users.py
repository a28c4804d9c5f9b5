"""Who may use the workspace: users with roles, sessions, CSRF tokens and the audit log.

Users, sessions and the audit log are tables of the serving store's database (``ui_users``,
``ui_sessions``, ``ui_audit``, described in :mod:`scoring.store.schema`). Passwords are argon2 hashes; a session
is a random token in an HttpOnly cookie whose SHA-256 the store keeps, so signing out (or removing
the user) ends it at once. Roles: a ``manager`` sees only their own book (``manager_id``), a
``lead`` or an ``analyst`` sees every customer; analysts are read-only (they log no contacts).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, get_args

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy.exc import SQLAlchemyError

from core.errors import ChurnError
from core.notes import note
from scoring.store.migrate import upgrade
from scoring.store.passwords import password_note
from scoring.store.schema import AUDIT, SESSIONS, USERS

Role = Literal["manager", "lead", "analyst"]
ROLES: tuple[str, ...] = get_args(Role)
SESSION_HOURS = 12
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")


class UserError(ChurnError):
    """A user cannot be added or removed as asked (names the field and why)."""


@dataclass(frozen=True)
class Principal:
    """Who is asking: a signed-in user, a user a trusted proxy named, or the local developer
    of an open workspace (lead rights)."""

    name: str
    role: Role
    manager_id: str | None
    csrf: str
    mode: Literal["session", "proxy", "open"] = "session"

    @property
    def book(self) -> str | None:
        """The only account manager whose customers this principal may see (None: everyone)."""
        return self.manager_id if self.role == "manager" else None

    def may_see(self, account_manager_id: object) -> bool:
        return self.book is None or account_manager_id == self.book

    @property
    def may_log_contacts(self) -> bool:
        """Leads and managers (for their own book) log contacts; analysts only read."""
        return self.role != "analyst"


@dataclass(frozen=True)
class User:
    name: str
    role: Role
    manager_id: str | None
    created_at: datetime


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def tokens_match(given: str | None, expected: str | None) -> bool:
    """Constant-time comparison of two tokens (False when either is missing)."""
    return bool(given) and bool(expected) and hmac.compare_digest(str(given), str(expected))


class UserStore:
    """Users, sessions and audit entries in the serving store's database."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self._hasher = PasswordHasher()
        self._dummy = self._hasher.hash(secrets.token_urlsafe(16))
        self._ready = False

    def ensure_tables(self) -> None:
        """Bring the store's schema up to date, workspace tables included (once per object;
        a store opened through ``PredictionStore`` is up to date already)."""
        if not self._ready:
            upgrade(self.engine)
            self._ready = True

    # ---- users ----------------------------------------------------------------------------------

    def add(self, name: str, role: str, password: str, manager_id: str | None = None) -> User:
        """Add a user (UserError names the field when the name, role, manager or password
        is unusable, or the name is taken)."""
        if not NAME_PATTERN.match(name):
            raise UserError(
                f"user name {name!r}: use 1-100 letters, digits, '.', '_', '@' or '-', "
                "starting with a letter or digit"
            )
        if role not in ROLES:
            raise UserError(f"--role {role!r}: must be one of {', '.join(ROLES)}")
        if role == "manager" and not manager_id:
            raise UserError("--manager-id: a manager needs the account_manager_id of their book")
        if role != "manager" and manager_id:
            raise UserError(f"--manager-id: only managers have a book (not a {role})")
        problem = password_note(name, password)
        if problem:
            raise UserError(note("password_refused", problem=problem))
        self.ensure_tables()
        user = User(name, role, manager_id, _now())  # type: ignore[arg-type]  # checked above
        with self.engine.begin() as conn:
            if conn.execute(sa.select(USERS.c.name).where(USERS.c.name == name)).first():
                raise UserError(f"user {name!r} exists already (remove it first)")
            conn.execute(
                USERS.insert().values(
                    name=name,
                    role=role,
                    manager_id=manager_id,
                    password_hash=self._hasher.hash(password),
                    created_at=user.created_at,
                )
            )
        return user

    def remove(self, name: str) -> bool:
        """Remove a user and end their sessions; False when there was no such user."""
        self.ensure_tables()
        with self.engine.begin() as conn:
            conn.execute(SESSIONS.delete().where(SESSIONS.c.user_name == name))
            return conn.execute(USERS.delete().where(USERS.c.name == name)).rowcount > 0

    def users(self) -> list[User]:
        self.ensure_tables()
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(USERS).order_by(USERS.c.name)).mappings().all()
        return [User(r["name"], r["role"], r["manager_id"], r["created_at"]) for r in rows]

    def any_users(self) -> bool:
        """Whether any user is configured (an unreadable table counts as none)."""
        try:
            self.ensure_tables()
            with self.engine.connect() as conn:
                return conn.execute(sa.select(USERS.c.name).limit(1)).first() is not None
        except SQLAlchemyError:
            return False

    def user(self, name: str) -> User | None:
        self.ensure_tables()
        with self.engine.connect() as conn:
            r = conn.execute(sa.select(USERS).where(USERS.c.name == name)).mappings().first()
        return None if r is None else User(r["name"], r["role"], r["manager_id"], r["created_at"])

    def check_password(self, name: str, password: str) -> User | None:
        """The user when the password is theirs, else None (the same work either way, so the
        answer's timing does not tell whether the name exists)."""
        self.ensure_tables()
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(USERS).where(USERS.c.name == name)).mappings().first()
        stored = row["password_hash"] if row else self._dummy
        try:
            self._hasher.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        if row is None:
            return None
        return User(row["name"], row["role"], row["manager_id"], row["created_at"])

    # ---- sessions -------------------------------------------------------------------------------

    def open_session(self, user: User) -> tuple[str, Principal]:
        """A new session for ``user``: the cookie token and the principal it stands for."""
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = _now()
        with self.engine.begin() as conn:
            conn.execute(SESSIONS.delete().where(SESSIONS.c.expires_at < now))
            conn.execute(
                SESSIONS.insert().values(
                    token_hash=_digest(token),
                    user_name=user.name,
                    csrf=csrf,
                    created_at=now,
                    expires_at=now + timedelta(hours=SESSION_HOURS),
                )
            )
        return token, Principal(user.name, user.role, user.manager_id, csrf)

    def session(self, token: str | None) -> Principal | None:
        """The principal of a live session token (None: no, unknown or expired session)."""
        if not token:
            return None
        self.ensure_tables()
        query = (
            sa.select(USERS.c.name, USERS.c.role, USERS.c.manager_id, SESSIONS.c.csrf)
            .join(USERS, USERS.c.name == SESSIONS.c.user_name)
            .where(SESSIONS.c.token_hash == _digest(token), SESSIONS.c.expires_at > _now())
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        if row is None:
            return None
        return Principal(row["name"], row["role"], row["manager_id"], row["csrf"])

    def close_session(self, token: str | None) -> None:
        if token:
            with self.engine.begin() as conn:
                conn.execute(SESSIONS.delete().where(SESSIONS.c.token_hash == _digest(token)))

    # ---- audit ----------------------------------------------------------------------------------

    def audit(
        self,
        action: str,
        outcome: str,
        *,
        user: str | None = None,
        role: str | None = None,
        target: str | None = None,
        client: str | None = None,
    ) -> None:
        """Record one audited event (sign-in, sign-out, export, refused access)."""
        self.ensure_tables()
        with self.engine.begin() as conn:
            conn.execute(
                AUDIT.insert().values(
                    at=_now(),
                    user_name=user,
                    role=role,
                    action=action,
                    target=(target or "")[:2000] or None,
                    outcome=outcome,
                    client=(client or "")[:100] or None,
                )
            )

    def audit_log(self, limit: int = 100, actions: Sequence[str] = ()) -> list[dict]:
        """The latest audit entries, newest first."""
        self.ensure_tables()
        query = sa.select(AUDIT).order_by(AUDIT.c.id.desc()).limit(limit)
        if actions:
            query = query.where(AUDIT.c.action.in_(list(actions)))
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings().all()]
