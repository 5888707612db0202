"""What the catalog says about each film, as the engine's item cold start reads it (engine.coldstart)."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from engine.coldstart import ItemFacts, outside_facts


def facts_from_rows(rows: Sequence[dict[str, Any]], text_vectors: np.ndarray | None, genre_matrix: np.ndarray) -> ItemFacts:
    """``rows``: catalog rows (as `catalog_rows` returns them) in the catalog's order."""
    def names(row: dict[str, Any], key: str) -> list[str]:
        value = row.get(key)
        return list(value) if isinstance(value, (list, tuple)) else []

    return ItemFacts(
        text=text_vectors, genres=genre_matrix, years=[r.get("year") for r in rows],
        directors=[names(r, "directors") for r in rows], cast=[names(r, "cast_members") for r in rows],
        keywords=[names(r, "keywords") for r in rows],
        outside=outside_facts([r.get("popularity_count") for r in rows], [r.get("popularity_mean") for r in rows],
                              [r.get("tmdb_votes") for r in rows], [r.get("tmdb_score") for r in rows]))
