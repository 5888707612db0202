"""The evaluation results as a terminal table."""
from __future__ import annotations

from typing import Any


def _settings(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in params.items())


def _warm(result: dict[str, Any]) -> list[str]:
    warm = result["warm"]
    best_peer = max(v["ndcg@10"] for k, v in warm.items() if k != "ours")
    lines = ["warm protocol (positives = ratings >= 4.0, 20% held out per user; ours as served)",
             f"  {'model':<12}{'NDCG@10':>9}{'Recall@20':>11}{'coverage':>10}{'pop. pct':>10}{'top-100':>9}"]
    for name, m in warm.items():
        lines.append(f"  {name:<12}{m['ndcg@10']:>9.4f}{m['recall@20']:>11.4f}{m['coverage@10']:>10.4f}"
                     f"{m['popularity_percentile@10']:>10.1f}{m['top100_share@10']:>9.3f}")
    lines.append(f"  ours / best peer NDCG@10: {warm['ours']['ndcg@10'] / best_peer:.3f}")
    lines.append("  (coverage: share of the catalog in any top 10; pop. pct: mean popularity percentile of the top 10,"
                 " 100 = most rated; top-100: share of top-10 slots held by the 100 most-rated movies)")
    return lines


def _cold(result: dict[str, Any]) -> list[str]:
    cold = result["cold"]
    steps = list(next(iter(cold.values())).keys())
    lines = ["", f"cold protocol (NDCG@10 after k fed ratings; {result['config'].get('cold_users', '?')} new users)",
             f"  {'model':<12}" + "".join(f"{'k=' + s:>9}" for s in steps)]
    for name, row in cold.items():
        lines.append(f"  {name:<12}" + "".join(f"{row[s]:>9.4f}" for s in steps))
    ratio = []
    for s in steps:
        best = max(cold[n][s] for n in cold if n != "ours")
        ratio.append(f"{cold['ours'][s] / best:>9.3f}" if best else f"{'-':>9}")
    lines.append(f"  {'ours/best':<12}" + "".join(ratio))
    return lines


def _calibration(cal: dict[str, Any]) -> list[str]:
    lines = ["", "calibration of match % (held-out ratings, positive = 4.0 or more)"]
    for label, part in (("members with 10+ ratings", cal), ("members with 5-9 ratings", cal.get("new_members_5_9"))):
        if not part:
            continue
        lines.append(f"  {label}: {part['pairs']:,} held-out ratings ({100 * part['positive_rate']:.1f}% positive)")
        for name in ("ours", "base_rate"):
            m = part[name]
            lines.append(f"    {name:<10} Brier {m['brier']:.4f}  ECE (15 bins) {m['ece']:.4f}")
        lines.append(f"    Brier {100 * part['brier_vs_base_rate']:.1f}% below the base rate's")
    below = cal.get("under_3_stars")
    if below:  # the movie night's "would likely rate it under 3 stars"
        lines.append(f"  chance of a rating under 3 stars (members with 10+ ratings, {100 * below['positive_rate']:.1f}% of ratings):")
        for name in ("ours", "base_rate"):
            m = below[name]
            lines.append(f"    {name:<10} Brier {m['brier']:.4f}  ECE (15 bins) {m['ece']:.4f}")
    return lines


def _personas(personas: dict[str, Any]) -> list[str]:
    lines = ["", "personas (planted tastes, fed through the online feedback path; mean over seeded members)",
             f"  {'persona':<30}{'prec@10':>8}{'worst':>7}{'top-100 in 10':>15}{'worst':>7}{'forbidden in 20':>17}"]
    for name, m in personas.items():
        forbidden = f"{m['forbidden_in_top20']:>17.0f}" if "forbidden_in_top20" in m else f"{'-':>17}"
        lines.append(f"  {name:<30}{m['precision@10']:>8.2f}{m['worst_precision@10']:>7.2f}"
                     f"{m['top100_in_top10']:>15.1f}{m['worst_top100_in_top10']:>7.0f}{forbidden}")
        lines.append(f"    e.g. {'; '.join(m['example'][:3])}")
    return lines


def _list_shape(shape: dict[str, Any]) -> list[str]:
    lines = ["", f"list shape on a validation split (chosen: the most calibration, then diversity, within "
                 f"{shape['tolerance']:.0%} of the best validation NDCG@10)",
             f"  {'diversity':>9} {'calibration':>11} {'NDCG@10':>8} {'coverage':>8}  personas precision@10"]
    for row in shape["rows"]:
        mark = " <- chosen" if row == shape["chosen"] else ""
        found = ", ".join(f"{k.split()[0]} {v:.2f}" for k, v in row["personas_precision@10"].items())
        lines.append(f"  {row['diversity']:>9.2f} {row['calibration']:>11.2f} {row['ndcg@10']:>8.4f} "
                     f"{row['coverage@10']:>8.3f}  {found}{mark}")
    return lines


def evaluation_table(result: dict[str, Any]) -> str:
    lines: list[str] = []
    if result.get("warm"):
        lines += _warm(result)
    if result.get("cold"):
        lines += _cold(result)
    if "calibration" in result:
        lines += _calibration(result["calibration"])
    if "personas" in result:
        lines += _personas(result["personas"])
    if "list_shape" in result:
        lines += _list_shape(result["list_shape"])
    config = result["config"]
    if config.get("tuned") or any(k.startswith("ours_") for k in config):
        lines += ["", "constants chosen on validation splits cut from the training data"]
        for protocol, peers in config.get("tuned", {}).items():
            for peer, params in peers.items():
                lines.append(f"  {protocol:<5} {peer:<5} {_settings(params)}")
        for key in ("ours_warm", "ours_cold", "ours_personas"):
            if key in config:
                base = config[key]["base_model"]
                lines.append(f"  {key[5:]:<5} ours  lam_seen={base['lam_seen']:g}, lam_val={base['lam_val']:g}, "
                             f"val_weight={base['val_weight']:g}, diversity={config[key]['diversity']}, "
                             f"list calibration={config[key].get('list_calibration', 0)}, "
                             f"own weights for {config[key]['users_with_own_weights']} users")
    lines += ["", f"total time: {config.get('total_seconds', '?')} s"]
    return "\n".join(lines)


def new_items_table(result: dict[str, Any]) -> str:
    """`cinesync eval --new-items`: NDCG@10 among the new films, validation (where constants were chosen)
    and test, with the ratios the targets are stated in."""
    where = "outside popularity given to every method (hindsight)" if result.get("outside_popularity") else \
        "no popularity from outside the training ratings"
    lines = [f"new-items protocol: the newest {100 * result['fraction']:.0f}% of {result.get('films', 0):,} rated films lose "
             f"their ratings ({result.get('ratings', 0):,} ratings, {result.get('users', 0):,} users); {where}",
             f"  {'split':<14}{'films':>6}{'users':>6}{'ours':>8}{'genre pop':>10}{'text nn':>9}{'random':>8}"
             f"{'ours/best peer':>16}{'ours/random':>13}"]
    for name, split in result["splits"].items():
        n = split["ndcg@10"]
        lines.append(f"  {name:<14}{split['new_films']:>6}{split['users']:>6}{n['ours']:>8.4f}{n['genre_popularity']:>10.4f}"
                     f"{n['text_neighbours']:>9.4f}{n['random']:>8.4f}{split['ratio_vs_best_content_peer']:>15.2f}x"
                     f"{split['ratio_vs_random']:>12.1f}x")
    c = result["chosen"]
    lines.append(f"  constants chosen on the validation splits (best mean): ours lam {c['ours']['lam']}, text-neighbour share {c['ours']['blend']}, "
                 f"prior weight {c['ours']['prior_weight']}; genre popularity weight {c['genre_popularity']['popularity_weight']}; "
                 f"text neighbours k {c['text_neighbours']['k']}, popularity weight {c['text_neighbours']['popularity_weight']}")
    for name, v in result["splits"].items():
        if "ours_ridge_only" in v:
            lines.append(f"  {name}, ours by part: ridge only {v['ours_ridge_only']:.4f}, text-neighbour regression only "
                         f"{v['ours_text_neighbours_only']:.4f}, blend {v['ndcg@10']['ours']:.4f}")
    lines.append(f"  time {result['seconds']:.0f} s")
    return "\n".join(lines)
