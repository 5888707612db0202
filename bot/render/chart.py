"""The `/my_stats` chart: genre affinities and the rating histogram, as PNG bytes (matplotlib, no screen).

A panel without data is replaced by a short note, colours mean what the caption says (green: a
favourite, red: rated lower, grey: not clear yet), and counts are whole numbers."""
from __future__ import annotations

import io
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

FAVOURITE, LOWER, UNCLEAR, BARS = "#2ecc71", "#e74c3c", "#95a5a6", "#3498db"


def _genre_panel(axis: Any, genres: list[dict[str, Any]]) -> None:
    if not genres:
        axis.axis("off")
        axis.text(0.5, 0.5, "Genre tastes appear after about\n10 ratings in a genre", ha="center", va="center",
                  fontsize=12, color="#555555", transform=axis.transAxes)
        return
    colours = [FAVOURITE if g["significant"] and g["effect"] > 0 else LOWER if g["significant"] and g["effect"] < 0
               else UNCLEAR for g in genres]
    axis.barh([g["genre"] for g in genres], [g["effect"] for g in genres], color=colours)
    axis.axvline(0, color="#333333", linewidth=0.8)
    axis.set_title("Genres: stars above or below your average")
    axis.set_xlabel("green: a favourite · red: you rate it lower · grey: not clear yet")


def taste_chart(patterns: dict[str, Any]) -> bytes:
    genres = sorted(patterns.get("genres", []), key=lambda g: g["effect"])[-12:]
    histogram = patterns.get("behaviour", {}).get("histogram", {})
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4.5), dpi=100)
    try:
        _genre_panel(left, genres)
        right.bar(list(histogram), list(histogram.values()), color=BARS)
        right.set_title("Your ratings")
        right.set_xlabel("stars")
        right.set_ylabel("films")
        right.yaxis.set_major_locator(MaxNLocator(integer=True))
        right.tick_params(axis="x", labelrotation=45)
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        return buffer.getvalue()
    finally:
        plt.close(figure)
