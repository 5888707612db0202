"""Benchmark figures as a terminal table."""
from __future__ import annotations

from typing import Any

LABELS = {
    "rate": "rating stored + online update",
    "durable_commit": "empty durable commit (the disk's part)",
    "recommend_50_ratings": "top-10, user with 50 ratings",
    "recommend_2_ratings": "top-10, user with 2 ratings",
    "title_search": "title search (autocomplete)",
    "similar_members": "similar members (100 nearest)",
    "similar_members_pgvector": "similar members, pgvector's index",
}


def benchmark_table(result: dict[str, Any]) -> str:
    lines = [f"model {result.get('model_version')}, catalog of {result.get('catalog'):,} movies",
             f"  {'operation':<36}{'p50 ms':>10}{'p99 ms':>10}{'n':>7}"]
    for key, label in LABELS.items():
        if key in result and "p50_ms" in result[key]:
            m = result[key]
            lines.append(f"  {label:<36}{m['p50_ms']:>10.2f}{m['p99_ms']:>10.2f}{m['n']:>7}")
    synchronous = result.get("durable_commit", {}).get("synchronous_commit", "on")
    if synchronous != "on":
        lines.append(f"  synchronous_commit is {synchronous}: commits (and so ratings) did not all wait for the disk")
    for key in ("similar_members", "similar_members_pgvector"):
        if "recall" in result.get(key, {}):
            m = result[key]
            lines.append(f"  similar members over {m['members']:,} indexed, {m.get('backend', 'pgvector HNSW')}: recall of "
                         f"the exact 100 nearest {m['recall']:.3f} (lowest {m['recall_min']:.2f}, {m['recall_queries']} queries)")
    if "throughput" in result:
        t = result["throughput"]
        lines.append(f"  sustained ratings/s with {t['clients']} concurrent clients: {t['ratings_per_s']:,.0f} "
                     f"({t['ratings']:,} in {t['seconds']} s)")
    if "learner" in result:
        l = result["learner"]
        lines.append(f"  PreferenceLearner over {l['users']:,} users: {l['seconds']} s, {l['ms_per_user']} ms per user "
                     f"({l['weights_seconds']} s of it refitting signal weights)")
    if "history_import" in result:
        h = result["history_import"]
        lines.append(f"  history import, {h['rows']:,}-row Letterboxd file end to end: {h['seconds']} s "
                     f"({h['imported']:,} imported, {h['unmatched']} not matched; target < {h['target_s']:g} s: "
                     f"{'met' if h['met'] else 'MISSED'})")
    if "interactions" in result:
        i = result["interactions"]
        lines.append(f"  Discord interactions, {i['members']} members at once ({i['rounds']} rounds each, {i['seconds']} s; "
                     f"event loop lag at most {i['max_loop_lag_ms']} ms): payload in -> first HTTP response")
        lines.append(f"  {'command':<36}{'p50 ms':>10}{'p99 ms':>10}{'n':>7}{'target':>10}")
        for name, m in i["commands"].items():
            verdict = "met" if m["met"] else "MISSED"
            lines.append(f"  /{name:<35}{m['p50_ms']:>10.2f}{m['p99_ms']:>10.2f}{m['n']:>7}{'<' + str(int(m['target_ms'])):>7} {verdict}")
    if "memory" in result:
        mem = result["memory"]
        lines.append(f"  memory of this process (the bot's runtime): {mem['rss_mb']:,.0f} MB resident, "
                     f"{mem['peak_rss_mb']:,.0f} MB at its peak")
    return "\n".join(lines)
