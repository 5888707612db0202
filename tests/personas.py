"""Synthetic members with planted tastes over the real catalog, with realistic noise."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

KINDS = ("nolan_scifi", "harsh_comedy", "uniform", "nineties")


@dataclass
class Persona:
    user_id: int
    kind: str
    favourite_genres: set[str] = field(default_factory=set)
    favourite_directors: set[str] = field(default_factory=set)
    least_genres: set[str] = field(default_factory=set)
    favourite_decade: str | None = None


def make_personas(movies: pd.DataFrame, n: int = 200, seed: int = 0) -> tuple[list[Persona], pd.DataFrame]:
    """(personas, ratings frame) over ``movies`` (canonical columns), cycling through the four kinds."""
    rng = np.random.default_rng(seed)
    movies = movies[movies["year"].notna()].reset_index(drop=True)
    popular = movies.index.to_numpy()
    scifi = np.array(["Sci-Fi" in g for g in movies["genres"]])
    comedy = np.array(["Comedy" in g for g in movies["genres"]])
    nolan = np.array(["Christopher Nolan" in d for d in movies["directors"]])
    nineties = np.array([1990 <= int(y) < 2000 for y in movies["year"]])
    personas, rows = [], []
    for i in range(n):
        kind = KINDS[i % len(KINDS)]
        persona = Persona(user_id=10_000 + i, kind=kind)
        size = int(rng.integers(60, 140))
        chosen = set(rng.choice(popular, size=size, replace=False).tolist())
        if kind == "nolan_scifi":
            chosen |= set(np.flatnonzero(nolan).tolist())
            chosen |= set(rng.choice(np.flatnonzero(scifi), size=size // 3, replace=False).tolist())
            persona.favourite_genres, persona.favourite_directors = {"Sci-Fi"}, {"Christopher Nolan"}
        elif kind == "harsh_comedy":
            chosen |= set(rng.choice(np.flatnonzero(comedy), size=size // 3, replace=False).tolist())
            persona.least_genres = {"Comedy"}
        elif kind == "nineties":
            chosen |= set(rng.choice(np.flatnonzero(nineties), size=size // 3, replace=False).tolist())
            persona.favourite_decade = "1990s"
        base = rng.uniform(2.9, 3.8)
        for index in sorted(chosen):
            value = base + rng.normal(0, 0.8)
            if kind == "nolan_scifi":
                value += 1.0 * scifi[index] + 1.5 * nolan[index]
            elif kind == "harsh_comedy":
                value -= 1.2 * comedy[index]
            elif kind == "nineties":
                value += 1.0 * nineties[index]
            stars = float(np.clip(np.round(value * 2) / 2, 0.5, 5.0))
            rows.append((persona.user_id, int(movies.at[index, "movie_id"]), stars, pd.Timestamp("2024-01-01", tz="UTC")
                         + pd.Timedelta(minutes=len(rows))))
        personas.append(persona)
    frame = pd.DataFrame(rows, columns=["user_id", "movie_id", "rating", "rated_at"])
    return personas, frame
