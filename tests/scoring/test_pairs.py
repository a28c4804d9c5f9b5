"""``churn promote`` and ``churn rollback`` move the churn and value models of one training run
together (the real CLI on a copy of the served world's registry); a pair split by hand is
refused wherever the champions are loaded."""

from __future__ import annotations

import shutil

import pytest
from typer.testing import CliRunner

from core.bundle import BundleError
from core.registry import CHAMPION, alias_version, client_for
from scoring.champions import load_champions
from scoring.config import ModelRefs
from training.tracking import using_store

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("serving-api")]


def test_promote_and_rollback_move_both_models_of_a_run(world, tmp_path):
    from churn.cli import app, register_commands

    shutil.copyfile(world.root / "mlflow.db", tmp_path / "mlflow.db")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = client_for(uri)
    champion = {n: alias_version(client, n, CHAMPION) for n in ("churn-model", "value-model")}
    with using_store(uri):  # two runs' pairs, copies of the champions, whatever the world holds
        pairs: dict[str, dict[str, str]] = {"run-one": {}, "run-two": {}}
        for run, made in pairs.items():
            for name in ("churn-model", "value-model"):
                mv = client.get_model_version(name, str(champion[name]))
                made[name] = str(
                    client.create_model_version(name, mv.source, tags={"run_id": run}).version
                )
        lone = client.create_model_version(
            "value-model", mv.source, tags={"run_id": "run-three"}
        ).version
    register_commands()
    runner = CliRunner()
    common = ["--reason", "A/B test", "--tracking-uri", uri]
    first, made = pairs["run-one"], pairs["run-two"]
    for pair in (first, made):  # promoting one model of a run moves its partner too
        done = runner.invoke(
            app, ["promote", "--model", "value-model", "--version", pair["value-model"], *common]
        )
        assert done.exit_code == 0, done.output
        assert {n: alias_version(client, n, CHAMPION) for n in pair} == pair
        assert "churn-model: champion is now" in done.output

    back = runner.invoke(app, ["rollback", "--model", "churn-model", *common])
    assert back.exit_code == 0, back.output
    assert {n: alias_version(client, n, CHAMPION) for n in made} == first

    alone = runner.invoke(
        app, ["promote", "--model", "value-model", "--version", str(lone), *common]
    )
    assert alone.exit_code == 0 and "only it moved" in " ".join(alone.output.split())

    # batch scoring, reports and KPIs load the champions as the service does: a pair or nothing
    with pytest.raises(BundleError, match="mismatched pair"):
        load_champions(ModelRefs(), uri)


def test_champions_fetched_beside_the_start_are_the_registrys_pair(world, tmp_path):
    from scoring.prefetch import PAIR_FILE, fetch, take

    refs, uri = world.cfg.models, world.tracking_uri
    fetch(refs, uri, tmp_path)
    fetched = take(refs, uri, tmp_path, wait_s=0)
    loaded = load_champions(refs, uri)
    assert fetched is not None and fetched.versions == loaded.versions
    assert fetched.churn.booster.model_to_string() == loaded.churn.booster.model_to_string()
    # fetched for other models or another registry, failed, or not there: the worker reads the
    # registry itself
    assert take(ModelRefs(alias="challenger"), uri, tmp_path, wait_s=0) is None
    assert take(refs, f"{uri}-other", tmp_path, wait_s=0) is None
    assert take(refs, uri, tmp_path / "nothing", wait_s=0.1) is None
    assert take(refs, uri, None) is None
    fetch(ModelRefs(churn="no-such-model"), uri, tmp_path)
    assert "RegistryUnavailable" in (tmp_path / PAIR_FILE).read_text(encoding="utf-8")
    assert take(ModelRefs(churn="no-such-model"), uri, tmp_path, wait_s=0) is None
