"""The one shape of every refusal the API sends: ``{"error": why, "detail": [problems]}``.

Each problem names where (``loc``, e.g. ``["records", 3, "segment"]``) and why (``msg``), so a
caller can fix the request; bodies never carry server paths, SQL or tracebacks.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.responses import JSONResponse


@dataclass(frozen=True)
class Problem:
    """One reason a request is refused: where (``loc``) and why (``msg``)."""

    loc: tuple[str | int, ...]
    msg: str
    type: str

    def as_dict(self) -> dict[str, Any]:
        return {"loc": list(self.loc), "msg": self.msg, "type": self.type}


def error_response(status: int, error: str, problems: Sequence[Problem] = ()) -> JSONResponse:
    """The JSON refusal every endpoint and the front door answer with."""
    return JSONResponse(
        {"error": error, "detail": [p.as_dict() for p in problems]}, status_code=status
    )


def pydantic_problems(errors: Iterable[Any]) -> list[Problem]:
    """Pydantic/FastAPI validation errors as problems."""
    return [Problem(tuple(e["loc"]), e["msg"], e["type"]) for e in errors]
