"""The languages the product speaks to people in: English and Simplified Chinese."""

from __future__ import annotations

from typing import Literal, get_args

Lang = Literal["en", "zh"]
LANGS: tuple[str, ...] = get_args(Lang)
