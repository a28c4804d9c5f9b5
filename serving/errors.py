"""The one shape of every refusal the API sends:
``{"error": why, "detail": [problems], "request_id": id}``.

Each problem names where (``loc``, e.g. ``["records", 3, "segment"]``) and why (``msg``), so a
caller can fix the request. Bodies never carry server paths, store URLs, SQL, commands or
tracebacks: :func:`scrub` removes them and the full text goes to the log under the same
``request_id`` that the response carries (header ``X-Request-ID``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import parse_qs

from starlette.responses import JSONResponse

from core.lang import Lang, accept_language, catalogue

REQUEST_ID: ContextVar[str | None] = ContextVar("churn_request_id", default=None)
"""The id of the request being answered (set by :class:`serving.middleware.RequestGuard`)."""
REQUEST_LANG: ContextVar[Lang] = ContextVar("churn_request_lang", default="en")
"""The language the request asks for (``lang=zh`` or ``Accept-Language: zh``): its refusals'
``error`` and ``msg`` texts are in it; the keys, ``loc`` and ``type`` stay the same."""

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


@cache
def _patterns() -> tuple[tuple[re.Pattern[str], str], ...]:
    """Each API message of the catalogue as a pattern over the English the service writes."""
    out = []
    for key, entry in catalogue("api").entries.items():
        parts = re.split(r"\{(\w+)\}", entry["en"])
        body = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.+?)" for i, p in enumerate(parts))
        out.append((re.compile(f"^{body}$", re.DOTALL), key))
    return tuple(sorted(out, key=lambda x: -len(x[0].pattern)))


def api_text(text: str, lang: Lang) -> str:
    """An error message in ``lang``: the catalogue's words for a message it knows (its filled-in
    parts translated too where they are messages), else the message as it is."""
    if lang == "en" or not text:
        return text
    for pattern, key in _patterns():
        m = pattern.match(text)
        if m is not None:
            parts = {k: api_text(v, lang) for k, v in m.groupdict().items()}
            return catalogue("api").t(key, lang, **parts)
    if "; " in text:
        return "；".join(api_text(part, lang) for part in text.split("; "))
    return text


def error_body(error: str, problems: Sequence[Problem | dict[str, Any]] = ()) -> dict[str, Any]:
    """The JSON body of a refusal, with the current request's id, in the request's language."""
    lang = REQUEST_LANG.get()
    detail = [p.as_dict() if isinstance(p, Problem) else dict(p) for p in problems]
    if lang != "en":
        for d in detail:
            if isinstance(d.get("msg"), str):
                d["msg"] = api_text(d["msg"], lang)
    return {"error": api_text(error, lang), "detail": detail, "request_id": REQUEST_ID.get()}


def request_lang(scope: Mapping[str, Any]) -> Lang:
    """The language an HTTP request asks for: its ``lang`` query parameter (en or zh), else
    its ``Accept-Language`` header, else English."""
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    asked = (query.get("lang") or [""])[0].strip().lower()
    if asked in ("en", "zh"):
        return "zh" if asked == "zh" else "en"
    header = next(
        (v.decode("latin-1") for k, v in scope.get("headers", ()) if k == b"accept-language"),
        None,
    )
    return accept_language(header) or "en"


def error_response(status: int, error: str, problems: Sequence[Problem] = ()) -> JSONResponse:
    """The JSON refusal every endpoint and the front door answer with."""
    return JSONResponse(error_body(error, problems), status_code=status)


def pydantic_problems(errors: Iterable[Any]) -> list[Problem]:
    """Pydantic/FastAPI validation errors as problems."""
    return [Problem(tuple(e["loc"]), str(e["msg"]), str(e["type"])) for e in errors]
