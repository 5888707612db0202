"""`/about`: what this CineSync serves (catalog, model) and where its data comes from (credits)."""
from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version

import numpy as np

from bot.paths import DATA_DIR
from bot.services.runtime import EngineRuntime

NOTICE = DATA_DIR / "NOTICE.txt"


@dataclass
class About:
    version: str
    films: int
    newest_year: int | None
    model: str | None
    learned_films: int  # films whose vectors were learned from ratings
    predicted_films: int  # films placed by the item cold start
    credits: str


class AboutService:
    def __init__(self, runtime: EngineRuntime) -> None:
        self.runtime = runtime

    def about(self) -> About:
        runtime, model = self.runtime, self.runtime.model
        years = [y for y in runtime.catalog.years if y is not None]
        trained = model.trained if model is not None and model.trained is not None else None
        learned = int(np.count_nonzero(trained)) if trained is not None else (len(runtime.catalog) if model else 0)
        predicted = int(len(trained) - learned) if trained is not None and model.cold_start is not None else 0  # type: ignore[union-attr]
        try:
            release = version("cinesync")
        except PackageNotFoundError:
            release = "development"
        credits = NOTICE.read_text(encoding="utf-8") if NOTICE.exists() else ""
        return About(release, len(runtime.catalog), max(years) if years else None, runtime.version, learned, predicted,
                     credits)
