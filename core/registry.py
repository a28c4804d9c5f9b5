"""The MLflow model registry, the one module that talks to it: an explicit client per tracking URI,
the pyfunc wrapper models are logged as, downloading the version an alias points at, and moving
the ``champion`` and ``challenger`` aliases with a recorded reason.

Nothing here sets MLflow's process-wide tracking or registry URI: every call takes the URI.
Every move of ``champion`` appends the version to the registered model's ``champion_history``
tag (a JSON list), tags the version with who moved it, when and why, and appends that line to
the version's description. ``rollback`` returns the alias to the previous entry of the history.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import mlflow.artifacts
import pandas as pd
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature
from mlflow.pyfunc import PythonModel  # mypy types mlflow.pyfunc as a LazyLoader
from mlflow.types.schema import AnyType, ColSpec, DataType, Schema

from core import paths
from core.bundle import ARTIFACT_KEY, BundleError, ModelBundle
from core.errors import ChurnError
from core.yamlfile import safe_load

CUSTOMER_ID = "customer_id"
OUTPUT_COLUMNS = {"churn": "churn_probability", "value": "predicted_value"}
"""The pyfunc's prediction column per bundle kind."""
CHAMPION = "champion"
CHALLENGER = "challenger"
HISTORY_TAG = "champion_history"
RUN_TAG = "run_id"
"""Model-version tag naming the training run; the versions of one run are a pair."""
_HISTORY_KEEP = 200
SET_TAG = "churn.set_complete"
"""Run tag: ``false`` while a training run registers its models, ``true`` once all are in. The
versions of a run whose tag is ``false`` are an unfinished set: nothing loads or promotes them."""


class RegistryError(ChurnError):
    """A registry operation cannot be done (unknown model or version, no previous champion)."""


PYFUNC_SCRIPT = """\
# Loads the model bundle (LightGBM text + JSON) logged beside this file; see core/registry.py.
from mlflow.models import set_model

from core.registry import BundlePyfunc

set_model(BundlePyfunc())
"""


def resolve_uri(tracking_uri: str | None = None) -> str:
    """The tracking URI to use (argument, else ``MLFLOW_TRACKING_URI``, else SQLite in home)."""
    uri = tracking_uri or paths.tracking_uri()
    if uri.startswith("sqlite:///"):
        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    return uri


def client_for(tracking_uri: str) -> MlflowClient:
    """A client whose tracking and registry both point at ``tracking_uri``."""
    return MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)


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


def set_complete(client: MlflowClient, mv: Any) -> bool:
    """Whether model version ``mv`` belongs to a completely registered set: its training run's
    :data:`SET_TAG` is not ``false`` (versions registered before the tag existed count as
    complete). One write, the run tag, completes the whole set at once."""
    if (getattr(mv, "tags", None) or {}).get(SET_TAG) == "false":
        return False
    run_id = version_run_id(mv)
    if not run_id:
        return True
    try:
        tags = client.get_run(run_id).data.tags
    except MlflowException:
        return True  # the run was deleted: its versions were complete when it ended
    return tags.get(SET_TAG) != "false"


def check_complete(client: MlflowClient, name: str, version: str) -> None:
    """RegistryError when ``name`` v``version`` is part of an unfinished training run's set."""
    if not set_complete(client, client.get_model_version(name, str(version))):
        raise RegistryError(
            f"{name!r} v{version} belongs to a training run that did not finish registering its "
            "models; it cannot be loaded or promoted (train again: the next `churn train` marks "
            "that run FAILED)"
        )


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
    check_complete(client, name, version)
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
    check_complete(client, name, target)
    _set_history(client, name, history)  # the rolled-back version leaves the history
    client.set_registered_model_alias(name, CHAMPION, target)
    _record(client, name, current, "rolled_back", reason)
    _record(client, name, target, "restored", f"rollback from v{current}: {reason}")
    return current, target


def version_run_id(mv: Any) -> str | None:
    """The training run of a model version: its ``run_id`` tag, else the run it was logged in."""
    tags = getattr(mv, "tags", None) or {}
    return tags.get(RUN_TAG) or getattr(mv, "run_id", None) or None


def pair_versions(client: MlflowClient, name: str, version: str) -> dict[str, str]:
    """The versions of one training run: ``name`` v``version`` and, per other registered
    model, its latest version from the same run (just ``{name: version}`` without a run)."""
    version = str(version)
    check_version(client, name, version)
    run_id = version_run_id(client.get_model_version(name, version))
    pair = {name: version}
    if not run_id:
        return pair
    found: dict[str, int] = {}
    for query in (f"tags.{RUN_TAG} = '{run_id}'", f"run_id = '{run_id}'"):
        try:
            hits = client.search_model_versions(query)
        except MlflowException:
            continue
        for mv in hits:
            if mv.name != name and version_run_id(mv) == run_id:
                found[mv.name] = max(found.get(mv.name, 0), int(mv.version))
    return pair | {n: str(v) for n, v in sorted(found.items())}


def promote_pair(
    client: MlflowClient, name: str, version: str, reason: str
) -> list[tuple[str, str | None, str]]:
    """Manual promotion of a training run's pair: ``name`` v``version`` and the versions of the
    other models from its run take ``champion`` together. Returns (model, previous, new)."""
    if not reason.strip():
        raise RegistryError("a reason is required to move the champion alias")
    moves = []
    pair = pair_versions(client, name, version)
    for model, target in pair.items():  # every member first: none moves if one cannot
        check_complete(client, model, target)
    for model, target in pair.items():
        previous = alias_version(client, model, CHAMPION)
        make_champion(client, model, target, f"manual: {reason}")
        moves.append((model, previous, target))
    return moves


def _return_to(client: MlflowClient, name: str, target: str, reason: str) -> str | None:
    """Give ``champion`` of ``name`` back to ``target``; returns the version it leaves."""
    current = alias_version(client, name, CHAMPION)
    if current == target:
        return current
    check_complete(client, name, target)
    history = champion_history(client, name)
    if len(history) >= 2 and history[-1] == current and history[-2] == target:
        _set_history(client, name, history[:-1])
        client.set_registered_model_alias(name, CHAMPION, target)
        if current is not None:
            _record(client, name, current, "rolled_back", reason)
        _record(client, name, target, "restored", f"rollback from v{current}: {reason}")
    else:
        make_champion(client, name, target, f"rollback from v{current}: {reason}", "restored")
    return current


def rollback_pair(client: MlflowClient, name: str, reason: str) -> list[tuple[str, str, str]]:
    """Return ``name`` to its previous champion and every model of that version's training run
    to its version of the same run, together. Returns (model, from version, to version)."""
    current, target = rollback(client, name, reason)
    moves = [(name, current, target)]
    for model, version in pair_versions(client, name, target).items():
        if model != name:
            left = _return_to(client, model, version, reason)
            moves.append((model, left or "none", version))
    return moves


class BundlePyfunc(PythonModel):
    """MLflow pyfunc wrapper: loads the bundle from the ``bundle`` artifact and scores frames.

    ``predict`` takes a frame holding the model's input columns (:attr:`ModelBundle.input_names`;
    other columns are ignored) and returns a frame with the prediction column of
    :data:`OUTPUT_COLUMNS`, row-aligned with the input, and ``customer_id`` first when the input
    has it (or the source file's id column). Logged as "models from code" (:data:`PYFUNC_SCRIPT`,
    no cloudpickle) by ``training.tracking``; ``unwrap_python_model().bundle`` is the ModelBundle.
    """

    bundle: ModelBundle | None = None

    def load_context(self, context: Any) -> None:
        self.bundle = ModelBundle.load(context.artifacts[ARTIFACT_KEY])

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict | None = None
    ) -> pd.DataFrame:
        if self.bundle is None:
            raise BundleError("BundlePyfunc.predict called before load_context")
        return pyfunc_predict(self.bundle, pd.DataFrame(model_input))


def pyfunc_predict(bundle: ModelBundle, frame: pd.DataFrame) -> pd.DataFrame:
    """What the pyfunc returns for ``frame``: ``customer_id`` (when given) and the prediction."""
    out = pd.DataFrame(
        {OUTPUT_COLUMNS[bundle.kind]: bundle.predict(bundle.from_source(frame))}, index=frame.index
    )
    id_column = next((c for c in (CUSTOMER_ID, bundle.id_column) if c in frame.columns), None)
    if id_column is not None:
        out.insert(0, CUSTOMER_ID, frame[id_column].astype("str").to_numpy())
    return out


def pyfunc_signature(bundle: ModelBundle) -> ModelSignature:
    """The logged signature: every input column by name, of MLflow's ``Any`` type, and the output.

    MLflow checks a column-typed signature before ``predict`` runs and refuses a pandas
    ``category`` column for ``string`` and an int64 column for ``double``; ``Any`` lets those
    through to the bundle, which encodes every dtype and names a column it cannot read
    (:func:`pyfunc_input_types` documents the types). The customer id columns are optional.
    """
    names = bundle.input_names
    ids = [c for c in dict.fromkeys((CUSTOMER_ID, bundle.id_column)) if c and c not in names]
    inputs: list[Any] = [ColSpec(AnyType(), name) for name in names]
    inputs += [ColSpec(AnyType(), c, required=False) for c in ids]
    outputs: list[Any] = [
        ColSpec(DataType.string, CUSTOMER_ID, required=False),
        ColSpec(DataType.double, OUTPUT_COLUMNS[bundle.kind]),
    ]
    return ModelSignature(Schema(inputs), Schema(outputs))


def pyfunc_input_types(bundle: ModelBundle) -> dict[str, str]:
    """Per input column, what it holds: ``number``, or ``category: level | level ...``."""
    return {
        name: (
            "category: " + " | ".join(bundle.categories[feature])
            if feature in bundle.categories
            else "number"
        )
        for feature, name in zip(bundle.feature_names, bundle.input_names, strict=True)
    }


def load_version_bundle(name: str, version: str, tracking_uri: str) -> ModelBundle:
    """Download version ``version`` of registered model ``name`` (bundle files only)."""
    return ModelBundle.load(download_version(name, version, tracking_uri))


def download_version(name: str, version: str, tracking_uri: str, into: Path | None = None) -> Path:
    """The bundle directory of version ``version`` of ``name``, downloaded (into ``into``, a
    fresh folder, when given; a temporary one otherwise)."""
    client = client_for(tracking_uri)
    location = client.get_model_version_download_uri(name, str(version))
    local = mlflow.artifacts.download_artifacts(
        artifact_uri=location,
        tracking_uri=tracking_uri,
        dst_path=None if into is None else str(into),
    )
    return _bundle_dir(Path(local))


def load_registered_bundle(name: str, alias: str, tracking_uri: str) -> tuple[ModelBundle, str]:
    """Download the version of registered model ``name`` that carries ``alias``; (bundle, version).

    Reads only the bundle files (model text and JSON); nothing is unpickled.
    """
    client = client_for(tracking_uri)
    try:
        mv = client.get_model_version_by_alias(name, alias)
    except MlflowException as exc:
        raise BundleError(
            f"no version of registered model {name!r} has alias {alias!r} in {tracking_uri} "
            f"(train one with `churn train`): {exc.message}"
        ) from exc
    # the version's storage URI (a models:/ URI would be resolved against the global registry)
    location = client.get_model_version_download_uri(name, str(mv.version))
    local = Path(
        mlflow.artifacts.download_artifacts(artifact_uri=location, tracking_uri=tracking_uri)
    )
    return ModelBundle.load(_bundle_dir(local)), str(mv.version)


def _bundle_dir(model_dir: Path) -> Path:
    """The bundle directory inside a downloaded pyfunc model (from its MLmodel file)."""
    mlmodel = model_dir / "MLmodel"
    if mlmodel.is_file():
        spec = safe_load(mlmodel.read_text(encoding="utf-8")) or {}
        arts = spec.get("flavors", {}).get("python_function", {}).get("artifacts", {})
        rel = (arts.get(ARTIFACT_KEY) or {}).get("path")
        if rel:
            return model_dir / rel
    return model_dir / "artifacts" / ARTIFACT_KEY
