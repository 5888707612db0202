"""How the schema spreads over Citus (distributed PostgreSQL): member tables by ``user_id``, the rest
copied to every node as reference tables.

Why one list in code: Citus cannot be installed from this machine's package registries, so the test
suite checks the live schema against this plan on plain PostgreSQL (every table placed, every key of
a distributed table carrying the member, every foreign key allowed). A new table or key that would
not distribute fails a test here before it reaches a Citus cluster.
"""
from __future__ import annotations

import asyncpg

DISTRIBUTION_COLUMN = "user_id"

# Keyed by member; every member-path query filters on user_id, so each runs on one node.
DISTRIBUTED: tuple[str, ...] = (
    "user_ratings", "feedback_events", "user_embeddings", "user_preferences", "user_model_weights",
    "user_settings", "watchlist", "member_index", "member_index_queue", "recommendation_log",
    "history_imports", "dm_messages", "member_guilds",
)
# Small or read-mostly, joined with every member's rows: a copy on every node. Parents before children
# (a reference table's foreign keys may only point at reference tables).
REFERENCE: tuple[str, ...] = (
    "movies", "model_registry", "item_vectors", "movie_text_embeddings", "sliders", "job_runs",
    "rating_population", "guild_settings", "movie_nights", "movie_night_members", "movie_night_votes",
)
# The migration runner's own bookkeeping stays on the coordinator.
LOCAL: tuple[str, ...] = ("schema_migrations",)


class DistributionError(RuntimeError):
    """The database cannot be distributed as asked (not a Citus coordinator)."""


REFERENCE_CALL = "SELECT create_reference_table(CAST($1 AS text)::regclass)"
DISTRIBUTED_CALL = ("SELECT create_distributed_table(CAST($1 AS text)::regclass, CAST($2 AS text), "
                    "colocate_with => CAST($3 AS text))")


def distribution_plan() -> list[tuple[str, tuple[str, ...]]]:
    """The Citus calls (query, arguments) that place every table, in an order Citus accepts: reference
    tables first, then the member tables, all co-located with user_ratings (joins by member stay local)."""
    first = DISTRIBUTED[0]
    return ([(REFERENCE_CALL, (table,)) for table in REFERENCE]
            + [(DISTRIBUTED_CALL, (table, DISTRIBUTION_COLUMN, "default" if table == first else first))
               for table in DISTRIBUTED])


async def distribute(conn: asyncpg.Connection) -> list[str]:
    """Place every table on a Citus coordinator (after `cinesync migrate`), in one transaction; the names
    of the tables placed. Refuses, changing nothing, where the citus extension is not installed."""
    if await conn.fetchval("SELECT count(*) FROM pg_extension WHERE extname = 'citus'") == 0:
        raise DistributionError("this database is not a Citus coordinator (no citus extension): run "
                                "`CREATE EXTENSION citus` on a Citus server first; plain PostgreSQL needs no "
                                "distribution")
    plan = distribution_plan()
    async with conn.transaction():
        for query, args in plan:
            await conn.execute(query, *args)
    return [args[0] for _query, args in plan]
