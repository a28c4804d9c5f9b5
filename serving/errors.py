"""The one shape of every refusal the API sends:
``{"error": why, "detail": [problems], "request_id": id}``.

Each problem names where (``loc``, e.g. ``["records", 3, "segment"]``) and why (``msg``), so a
caller can fix the request. Bodies never carry server paths, store URLs, SQL, commands or
tracebacks: :func:`scrub` removes them and the full text goes to the log under the same
``request_id`` that the response carries (header ``X-Request-ID``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from starlette.responses import JSONResponse

REQUEST_ID: ContextVar[str | None] = ContextVar("churn_request_id", default=None)
"""The id of the request being answered (set by :class:`serving.middleware.RequestGuard`)."""

REDACTED = "[internal detail withheld; see the server log]"
_SQL = re.compile(
    r"\[SQL:.*?\]|\[parameters:.*?\]|\(Background on this error at:[^)]*\)"
    r"|\b(?:SELECT|INSERT\s+INTO|UPDATE|DELETE\s+FROM|CREATE\s+TABLE|ALTER\s+TABLE|PRAGMA)\b"
    r"[^\n]*",
    re.IGNORECASE | re.DOTALL,
)
_URL = re.compile(r"\b(?:sqlite|postgresql|postgres|mysql|file|duckdb)[+\w]*:/{2,}\S*", re.I)
_COMMAND = re.compile(r"`(?:churn|python|bentoml|make)\b[^`]*`|\bchurn score --\S+[^\n;)]*")
_PATH = re.compile(r"(?<![\w.:/])/(?:[\w.@+-]+/)+[\w.@+-]*")


@dataclass(frozen=True)
class Problem:
    """One reason a request is refused: where (``loc``) and why (``msg``)."""

    loc: tuple[str | int, ...]
    msg: str
    type: str

    def as_dict(self) -> dict[str, Any]:
        return {"loc": list(self.loc), "msg": self.msg, "type": self.type}


def scrub(text: str) -> str:
    """``text`` without store URLs, SQL, shell commands or absolute file paths."""
    for pattern in (_SQL, _URL, _COMMAND, _PATH):
        text = pattern.sub(REDACTED, text)
    return re.sub(rf"(?:{re.escape(REDACTED)}[\s:;,]*)+", REDACTED + " ", text).strip()


def error_body(error: str, problems: Sequence[Problem | dict[str, Any]] = ()) -> dict[str, Any]:
    """The JSON body of a refusal, with the current request's id."""
    detail = [p.as_dict() if isinstance(p, Problem) else p for p in problems]
    return {"error": error, "detail": detail, "request_id": REQUEST_ID.get()}


def error_response(status: int, error: str, problems: Sequence[Problem] = ()) -> JSONResponse:
    """The JSON refusal every endpoint and the front door answer with."""
    return JSONResponse(error_body(error, problems), status_code=status)


def pydantic_problems(errors: Iterable[Any]) -> list[Problem]:
    """Pydantic/FastAPI validation errors as problems."""
    return [Problem(tuple(e["loc"]), str(e["msg"]), str(e["type"])) for e in errors]
