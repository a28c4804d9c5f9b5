"""Registry aliases: who is ``champion`` and ``challenger``, with a recorded reason for each move.

Every move of ``champion`` appends the version to the registered model's ``champion_history``
tag (a JSON list), tags the version with who moved it, when and why, and appends that line to
the version's description. ``rollback`` returns the alias to the previous entry of the history.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from core.errors import ChurnError

CHAMPION = "champion"
CHALLENGER = "challenger"
HISTORY_TAG = "champion_history"
_HISTORY_KEEP = 200


class RegistryError(ChurnError):
    """A registry operation cannot be done (unknown model or version, no previous champion)."""


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def alias_version(client: MlflowClient, name: str, alias: str) -> str | None:
    """The version carrying ``alias``, or None (also when the model is not registered)."""
    try:
        return str(client.get_model_version_by_alias(name, alias).version)
    except MlflowException:
        return None


def check_version(client: MlflowClient, name: str, version: str) -> None:
    """RegistryError when the registered model or the version does not exist."""
    try:
        client.get_registered_model(name)
    except MlflowException as exc:
        raise RegistryError(f"no registered model named {name!r}") from exc
    try:
        client.get_model_version(name, str(version))
    except MlflowException as exc:
        raise RegistryError(f"registered model {name!r} has no version {version}") from exc


def champion_history(client: MlflowClient, name: str) -> list[str]:
    """Versions that held ``champion``, oldest first (the current one last)."""
    tags = client.get_registered_model(name).tags
    try:
        return [str(v) for v in json.loads(tags.get(HISTORY_TAG, "[]"))]
    except json.JSONDecodeError:
        return []


def _record(client: MlflowClient, name: str, version: str, action: str, reason: str) -> None:
    """Tag the version with the move and append it to the version's description."""
    stamp = _now()
    client.set_model_version_tag(name, version, f"{action}_at", stamp)
    client.set_model_version_tag(name, version, f"{action}_reason", reason[:5000])
    old = client.get_model_version(name, version).description or ""
    line = f"{stamp} {action}: {reason}"
    client.update_model_version(name, version, description=(old + "\n" + line).strip())


def _set_history(client: MlflowClient, name: str, history: list[str]) -> None:
    client.set_registered_model_tag(name, HISTORY_TAG, json.dumps(history[-_HISTORY_KEEP:]))


def make_champion(
    client: MlflowClient, name: str, version: str, reason: str, action: str = "promoted"
) -> None:
    """Point ``champion`` at version, record why, and drop ``challenger`` if it pointed there."""
    version = str(version)
    check_version(client, name, version)
    client.set_registered_model_alias(name, CHAMPION, version)
    if alias_version(client, name, CHALLENGER) == version:
        client.delete_registered_model_alias(name, CHALLENGER)
    history = champion_history(client, name)
    if not history or history[-1] != version:
        _set_history(client, name, [*history, version])
    _record(client, name, version, action, reason)


def make_challenger(client: MlflowClient, name: str, version: str, reason: str) -> None:
    """Point ``challenger`` at version and record why it did not become champion."""
    version = str(version)
    check_version(client, name, version)
    client.set_registered_model_alias(name, CHALLENGER, version)
    _record(client, name, version, "challenger", reason)


def promote(client: MlflowClient, name: str, version: str, reason: str) -> str | None:
    """Manual promotion; returns the previous champion's version."""
    if not reason.strip():
        raise RegistryError("a reason is required to move the champion alias")
    previous = alias_version(client, name, CHAMPION)
    make_champion(client, name, version, f"manual: {reason}")
    return previous


def rollback(client: MlflowClient, name: str, reason: str) -> tuple[str, str]:
    """Give ``champion`` back to the version that held it before the current one.

    Returns (from version, to version).
    """
    if not reason.strip():
        raise RegistryError("a reason is required to move the champion alias")
    current = alias_version(client, name, CHAMPION)
    if current is None:
        raise RegistryError(f"registered model {name!r} has no champion to roll back")
    history = champion_history(client, name)
    if history and history[-1] == current:
        history = history[:-1]
    previous = [v for v in history if v != current]
    if not previous:
        raise RegistryError(
            f"{name!r} v{current} is the first champion: there is no previous one to return to"
        )
    target = previous[-1]
    _set_history(client, name, history)  # the rolled-back version leaves the history
    client.set_registered_model_alias(name, CHAMPION, target)
    _record(client, name, current, "rolled_back", reason)
    _record(client, name, target, "restored", f"rollback from v{current}: {reason}")
    return current, target
