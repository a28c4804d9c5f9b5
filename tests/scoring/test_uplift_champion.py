"""The API's uplift champion: with none registered it says why (the API answers 503 with that)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.uplift import UpliftError
from scoring.uplift import UpliftChampion


def test_no_registry_means_no_uplift_champion_with_the_reason(tmp_path: Path):
    holder = UpliftChampion(f"sqlite:///{tmp_path / 'none.db'}")
    with pytest.raises(UpliftError, match="no uplift model champion .'uplift-model'@champion."):
        holder.get()
    assert not (tmp_path / "none.db").exists()
