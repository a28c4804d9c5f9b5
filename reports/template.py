"""The analysts' report's template environment (Jinja2, autoescaped, the pages in
``reports/templates/``, shipped as package data); its words are the catalogue's ``report`` area
(``core/words/report.yaml``).

Everything the page shows is inline (styles, images as data URIs): the report is one
self-contained file.
"""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

ENV = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)
"""One environment for the report: templates parsed once; every value escaped unless marked as
markup; a name the page uses but the context lacks is an error, not an empty string."""
