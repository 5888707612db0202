"""The `/my_stats` chart: genre affinities and the rating histogram, as PNG bytes (matplotlib, no screen)."""
from __future__ import annotations

import io
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def taste_chart(patterns: dict[str, Any]) -> bytes:
    genres = sorted(patterns.get("genres", []), key=lambda g: g["effect"])[-12:]
    histogram = patterns.get("behaviour", {}).get("histogram", {})
    figure, (left, right) = plt.subplots(1, 2, figsize=(9, 4), dpi=100)
    try:
        if genres:
            colors = ["#2ecc71" if g["effect"] > 0 and g["significant"] else
                      "#e74c3c" if g["effect"] < 0 and g["significant"] else "#95a5a6" for g in genres]
            left.barh([g["genre"] for g in genres], [g["effect"] for g in genres], color=colors)
            left.axvline(0, color="#333333", linewidth=0.8)
        left.set_title("Genre affinity (stars vs your average)")
        left.set_xlabel("green/red: significant")
        right.bar(list(histogram), list(histogram.values()), color="#e50914")
        right.set_title("Your ratings")
        right.set_xlabel("stars")
        right.tick_params(axis="x", labelrotation=45)
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        return buffer.getvalue()
    finally:
        plt.close(figure)
