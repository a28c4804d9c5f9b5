"""Errors the user can act on. The CLI prints their message and exits 2; no traceback."""

from __future__ import annotations


class ChurnError(Exception):
    """Base of every error whose message is meant for the user."""


class ContractError(ChurnError):
    """A data file breaks the data contract in a way that stops the run (schema-level)."""
