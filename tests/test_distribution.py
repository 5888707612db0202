"""The schema against its Citus plan (bot/db/distribution.py), on the real migrated PostgreSQL: Citus is not
installable here, so what Citus would refuse is checked from the catalog instead."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

from bot.db.distribution import (DISTRIBUTED, DISTRIBUTION_COLUMN, LOCAL, REFERENCE, DistributionError, distribute,
                                 distribution_plan)
from bot.db.pool import Database

TABLES = "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
# Every primary key, unique constraint and unique index, with its columns.
UNIQUE_KEYS = """
SELECT t.relname AS table_name, i.relname AS key_name,
       ARRAY(SELECT a.attname FROM unnest(x.indkey) k JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k)::text[]
         AS columns
  FROM pg_index x JOIN pg_class t ON t.oid = x.indrelid JOIN pg_class i ON i.oid = x.indexrelid
 WHERE x.indisunique AND t.relnamespace = 'public'::regnamespace
"""
FOREIGN_KEYS = """
SELECT c.conrelid::regclass::text AS child, c.confrelid::regclass::text AS parent, c.conname,
       ARRAY(SELECT a.attname FROM unnest(c.conkey) k JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k)::text[]
         AS child_columns,
       ARRAY(SELECT a.attname FROM unnest(c.confkey) k JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k)::text[]
         AS parent_columns
  FROM pg_constraint c WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace
"""


async def test_every_table_has_one_place_in_the_plan(db: Database) -> None:
    placed = [*DISTRIBUTED, *REFERENCE, *LOCAL]
    assert len(placed) == len(set(placed)), "a table is placed twice"
    async with db.acquire() as conn:
        tables = {r["tablename"] for r in await conn.fetch(TABLES)}
    assert tables - set(placed) == set(), "new tables need a place in bot/db/distribution.py"
    assert set(placed) - tables == set(), "the plan names tables the schema does not have"


async def test_every_key_of_a_distributed_table_carries_the_member(db: Database) -> None:
    async with db.acquire() as conn:
        keys = await conn.fetch(UNIQUE_KEYS)
        nullable = await conn.fetch(
            "SELECT table_name FROM information_schema.columns WHERE table_schema = 'public' AND column_name = $1 "
            "AND is_nullable = 'YES'", DISTRIBUTION_COLUMN)
    wrong = [(k["table_name"], k["key_name"], k["columns"]) for k in keys
             if k["table_name"] in DISTRIBUTED and DISTRIBUTION_COLUMN not in k["columns"]]
    assert wrong == []  # Citus enforces a unique key only when it contains the distribution column
    assert {r["table_name"] for r in nullable} & set(DISTRIBUTED) == set()
    assert {k["table_name"] for k in keys if DISTRIBUTION_COLUMN in k["columns"]} >= set(DISTRIBUTED)  # each has one


async def test_every_foreign_key_is_one_citus_allows(db: Database) -> None:
    async with db.acquire() as conn:
        foreign = await conn.fetch(FOREIGN_KEYS)
    assert foreign, "the schema has foreign keys; the query found none"
    for fk in foreign:
        child, parent = fk["child"], fk["parent"]
        if child in REFERENCE:  # a reference table may point at reference tables only, placed before it
            assert parent in REFERENCE, fk["conname"]
            assert parent == child or REFERENCE.index(parent) < REFERENCE.index(child), fk["conname"]
        elif child in DISTRIBUTED and parent in DISTRIBUTED:  # co-located: joined on the member
            assert (DISTRIBUTION_COLUMN in fk["child_columns"]
                    and fk["parent_columns"][fk["child_columns"].index(DISTRIBUTION_COLUMN)] == DISTRIBUTION_COLUMN), fk["conname"]
        else:
            assert child in DISTRIBUTED and parent in REFERENCE, fk["conname"]


async def test_the_plan_places_reference_parents_first_and_colocates_members() -> None:
    plan = distribution_plan()
    order = [args[0] for _query, args in plan]
    assert order == [*REFERENCE, *DISTRIBUTED]
    assert all("$1" in query for query, _args in plan)  # names passed as parameters, never spliced in
    colocated = [args for _query, args in plan if len(args) == 3]
    assert colocated[0][2] == "default" and all(args[2] == DISTRIBUTED[0] for args in colocated[1:])


async def test_distribute_refuses_plain_postgresql_and_changes_nothing(db: Database) -> None:
    async with db.acquire() as conn:
        before = await conn.fetch(UNIQUE_KEYS)
        with pytest.raises(DistributionError, match="not a Citus coordinator"):
            await distribute(conn)
        assert await conn.fetch(UNIQUE_KEYS) == before


def test_cli_migrate_distribute_says_why_it_cannot(empty_dsn: str, tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": empty_dsn, "CINESYNC_HOME": str(tmp_path)}
    cinesync = Path(sys.executable).parent / "cinesync"
    result = subprocess.run([str(cinesync), "migrate", "--distribute"], capture_output=True, text=True, env=env,
                            timeout=120)
    assert result.returncode == 1
    assert "applied  0019_member_keys.sql" in result.stdout
    assert "not a Citus coordinator" in result.stderr and "CREATE EXTENSION citus" in result.stderr


async def test_a_replayed_import_event_is_still_a_no_op_per_member(db: Database) -> None:
    """The dedupe key is unique per member now (0019); the same key twice for one member is still one row."""
    async with db.transaction() as conn:
        movie = await conn.fetchval("INSERT INTO movies (movie_id, title) VALUES (1, 'Heat') RETURNING movie_id")
        insert = ("INSERT INTO feedback_events (user_id, movie_id, rating, kind, source, dedupe_key) "
                  "VALUES ($1, $2, 4.0, 'rating', 'import', $3) ON CONFLICT (user_id, dedupe_key) DO NOTHING")
        for _ in range(2):
            await conn.execute(insert, 7, movie, "import:7:1:0")
        assert await conn.fetchval("SELECT count(*) FROM feedback_events WHERE user_id = 7") == 1
        await conn.execute(insert, 8, movie, "import:7:1:0")  # keys are per member: another member's is apart
        with pytest.raises(asyncpg.UniqueViolationError):
            async with conn.transaction():  # a savepoint: the violation leaves the outer transaction usable
                await conn.execute(insert.replace(" ON CONFLICT (user_id, dedupe_key) DO NOTHING", ""), 7, movie, "import:7:1:0")
