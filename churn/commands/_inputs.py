"""What ``churn`` commands read: data folders (one loader, which honours the bad-row share of
the option or of the config's ``data:`` section for every command), prediction files, and the
prediction store with its serving configuration.

Imported while the commands are registered (``churn --help``): pandas, the configs and everything
from features/, scoring/ and kpi/ are imported inside the functions.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from rich.console import Console

from core.lang import Lang, catalogue, show_date

t = catalogue("cli").t

if TYPE_CHECKING:
    import pandas as pd

    from features.dataset import Dataset
    from kpi.inputs import PeriodInputs, StoredPredictions
    from scoring.config import ServingConfig
    from scoring.store.predictions import PredictionStore


def load_folder(
    data: Path,
    console: Console,
    *,
    as_of: str | None = None,
    encoding: str = "utf-8",
    max_bad_row_share: float | None = None,
    config: Path | None = None,
    say_as_of: bool = True,
    lang: Lang = "en",
) -> Dataset:
    """Load a data folder, stopping when a table rejects more than the bad-row share of the
    option, else of ``config``'s ``data:`` section (else 0.2); with ``say_as_of``, say which
    as-of date it uses and why."""
    from features.config import load_data_config
    from features.loaders import load_dataset

    settings = load_data_config(config)
    share = max_bad_row_share if max_bad_row_share is not None else settings.max_bad_row_share
    with console.status(t("loading", lang, path=data)):
        ds = load_dataset(
            data,
            as_of=as_of,
            encoding=encoding,
            max_bad_row_share=share,
            max_text_chars=settings.max_text_chars,
        )
    if say_as_of:
        source = t(f"as_of_{ds.as_of_source}", lang)
        console.print(
            t("as_of_date", lang, date=show_date(ds.as_of, lang), source=source), highlight=False
        )
    return ds


def read_frame(path: Path, what: str) -> pd.DataFrame:
    """Read a Parquet or CSV file (ids as text); a missing or unreadable file is a KpiError."""
    import pandas as pd

    from kpi.config import KpiError

    if not path.is_file():
        raise KpiError(f"{what} file {path} does not exist")
    try:
        if path.suffix == ".parquet":
            return pd.read_parquet(path)
        return pd.read_csv(path, dtype={"customer_id": "str", "account_manager_id": "str"})
    except (OSError, ValueError) as exc:
        raise KpiError(f"{what} file {path} cannot be read: {exc}") from None


def need_data(data: Path | None) -> Path:
    """``--data``, which ``--predictions FILE`` needs; a KpiError when it is missing."""
    from kpi.config import KpiError

    if data is None:
        raise KpiError("--predictions FILE needs --data DIR (the data set the predictions score)")
    return data


def serving_config(config: Path | None, store: str | None) -> ServingConfig:
    """The serving config of ``--config``, with ``--store`` as its store URL when given."""
    from scoring.config import load_serving_config

    cfg = load_serving_config(config)
    return cfg.model_copy(update={"store_url": store}) if store else cfg


def score_options(config: Path | None, store: str | None) -> str:
    """The options a hinted ``churn score`` command needs to write to the same store."""
    parts = [f"--config {config}" if config else "", f"--store '{store}'" if store else ""]
    return " ".join(filter(None, parts))


def champion_effects(
    ds: Dataset,
    when: pd.Timestamp,
    config: Path | None,
    store: str | None,
    required: bool,
    model_name: str | None = None,
    lang: Lang = "en",
) -> tuple[pd.Series | None, str]:
    """Each customer's estimated effect of a contact from ``uplift-model@champion``, or from
    ``model_name``'s champion (a model of ``churn train-uplift``, scored on the customers table's
    own columns); None and a note when there is none; an error when ``--by uplift`` asked for it
    or the named model cannot score these customers."""
    import pandas as pd

    from core.bundle import BundleError
    from core.uplift import UpliftError, load_uplift
    from kpi.config import KpiError
    from scoring.uplift import uplift_at
    from training.uplift.config import load_uplift_config

    uri = serving_config(config, store).resolved_tracking_uri()
    name = model_name or load_uplift_config(config).model_name
    try:
        model, version = load_uplift(name, "champion", uri)
    except UpliftError as exc:
        if required or model_name:
            raise KpiError(f"--by uplift: {exc}") from None
        return None, ""
    if model.metadata.get("source"):  # trained on a campaign file: the customers' own columns
        customers = ds.tables["customers"]
        try:
            effect = model.predict(model.from_source(customers))
        except BundleError as exc:
            raise KpiError(
                f"--uplift-model {name}: the customers table cannot be scored: {exc}"
            ) from None
        scores = pd.Series(effect, index=customers["customer_id"].astype("str").to_numpy())
    else:
        scores = uplift_at(ds, when, model).set_index("customer_id")["uplift"]
    return scores, t("uplift_from", lang, name=name, version=version)


Read = TypeVar("Read", "PeriodInputs", "StoredPredictions")


def from_store(
    serving: ServingConfig,
    console: Console,
    read: Callable[[PredictionStore], Read],
    lang: Lang = "en",
) -> Read:
    """What ``read`` gets from the prediction store, saying which scoring runs it used."""
    from kpi.inputs import PeriodInputs
    from scoring.store.predictions import PredictionStore

    store = PredictionStore(serving.resolved_store_url())
    try:
        with console.status(t("reading_predictions", lang, url=store.safe_url)):
            got = read(store)
    finally:
        store.close()
    stored = got.stored if isinstance(got, PeriodInputs) else got
    run = stored.runs[-1]
    churn = f"{run.churn_model} v{run.churn_model_version}"
    value = f"{run.value_model} v{run.value_model_version}"
    dates = ", ".join(stored.asof)
    said = t("predictions_made", lang, dates=dates, churn=churn, value=value, url=store.safe_url)
    console.print(said, highlight=False)
    return got
