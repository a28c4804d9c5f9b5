"""MLflow's pyfunc wrapper of an uplift model (``from core.uplift import UpliftPyfunc`` in the
script logged beside it); apart from :mod:`core.uplift` so that importing that needs no MLflow."""

from __future__ import annotations

from typing import Any

import pandas as pd
from mlflow.pyfunc import PythonModel

from core.bundle import SOURCE_KEY
from core.uplift import ARTIFACT_KEY, OUTPUT_COLUMN, UpliftError, UpliftModel


class UpliftPyfunc(PythonModel):
    """MLflow pyfunc wrapper: the effect of a contact per input row (``uplift`` column, with
    ``customer_id`` first when the input has it, or the source file's id column of a model
    trained on a file); a file-trained model reads the file's own columns."""

    model: UpliftModel | None = None

    def load_context(self, context: Any) -> None:
        self.model = UpliftModel.load(context.artifacts[ARTIFACT_KEY])

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict | None = None):
        if self.model is None:
            raise UpliftError("UpliftPyfunc.predict called before load_context")
        frame = pd.DataFrame(model_input)
        src = self.model.metadata.get(SOURCE_KEY)
        id_col = (src.get("id_column") if isinstance(src, dict) else None) or "customer_id"
        scores = self.model.predict(self.model.from_source(frame))
        out = pd.DataFrame({OUTPUT_COLUMN: scores}, index=frame.index)
        if id_col in frame.columns:
            out.insert(0, "customer_id", frame[id_col].astype("str").str.strip().to_numpy())
        return out
