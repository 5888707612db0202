"""The evaluation results as a terminal table."""
from __future__ import annotations

from typing import Any


def evaluation_table(result: dict[str, Any]) -> str:
    lines: list[str] = []
    if "warm" in result and result["warm"]:
        warm = result["warm"]
        best_peer = max(v["ndcg@10"] for k, v in warm.items() if k != "ours")
        lines.append("warm protocol (positives = ratings >= 4.0, 20% held out per user)")
        lines.append(f"  {'model':<12}{'NDCG@10':>10}{'Recall@20':>11}{'coverage@10':>13}")
        for name, m in warm.items():
            lines.append(f"  {name:<12}{m['ndcg@10']:>10.4f}{m['recall@20']:>11.4f}{m['coverage@10']:>13.4f}")
        lines.append(f"  ours / best peer NDCG@10: {warm['ours']['ndcg@10'] / best_peer:.3f}")
    if "cold" in result and result["cold"]:
        cold = result["cold"]
        steps = list(next(iter(cold.values())).keys())
        lines.append("")
        lines.append(f"cold protocol (NDCG@10 after k fed ratings; {result['config'].get('cold_users', '?')} new users)")
        lines.append(f"  {'model':<12}" + "".join(f"{'k=' + s:>9}" for s in steps))
        for name, row in cold.items():
            lines.append(f"  {name:<12}" + "".join(f"{row[s]:>9.4f}" for s in steps))
        ratio = []
        for s in steps:
            best = max(cold[n][s] for n in cold if n != "ours")
            ratio.append(f"{cold['ours'][s] / best:>9.3f}" if best else f"{'-':>9}")
        lines.append(f"  {'ours/best':<12}" + "".join(ratio))
    if "calibration" in result:
        lines.append("")
        lines.append("calibration of match % (held-out ratings, positive = 4.0 or more)")
        cal = result["calibration"]
        for name in ("ours", "base_rate"):
            m = cal[name]
            lines.append(f"  {name:<12} Brier {m['brier']:.4f}  ECE (15 bins) {m['ece']:.4f}")
        lines.append(f"  Brier {100 * cal['brier_vs_base_rate']:.1f}% below the base rate's, on {cal['pairs']:,} held-out ratings "
                     f"({100 * cal['positive_rate']:.1f}% positive)")
    lines.append("")
    lines.append(f"total time: {result['config'].get('total_seconds', '?')} s")
    return "\n".join(lines)
